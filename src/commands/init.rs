//! `llmcap init`: writes a commented scenario for a use case (the text from
//! `plan::template`), checked by parsing it as `plan` will.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use crate::cli::InitArgs;
use crate::files::{writable_file, write_atomically};
use crate::plan::template::{known_model, scenario_text, Template, KNOWN_MODELS};
use crate::plan::Scenario;
use crate::workload::WorkloadSpec;

pub fn run(args: &InitArgs) -> Result<()> {
    let model = known_model(&args.model).ok_or_else(|| {
        let names: Vec<&str> = KNOWN_MODELS.iter().map(|m| m.name).collect();
        anyhow!(
            "--model {:?}: no built-in profile for it; built in: {}. For another model, measure it \
             (`llmcap calibrate`), or start from published ranges (`llmcap profile-from-ranges`) or \
             its hardware (`llmcap profile-from-hardware`), and name that profile in the scenario",
            args.model,
            names.join(", ")
        )
    })?;
    if !(args.utc_offset >= -12.0 && args.utc_offset <= 14.0) {
        bail!(
            "--utc-offset {}: must be −12 to +14 hours from UTC",
            args.utc_offset
        );
    }
    if args.out.exists() && !args.force {
        bail!(
            "{} exists: give another --out, or --force to overwrite it",
            args.out.display()
        );
    }
    writable_file(&args.out)?;
    let base = args
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let workload = match &args.workload {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--workload: cannot read {}", path.display()))?;
            let spec: WorkloadSpec = toml::from_str(&text)
                .map_err(|e| anyhow!("--workload {}: {}", path.display(), e.to_string().trim()))?;
            spec.validate()
                .map_err(|e| anyhow!("--workload {}: {e}", path.display()))?;
            Some((
                relative_to(path, base)?,
                spec.daily.is_some(),
                spec.measured,
            ))
        }
        None => None,
    };
    // A learned workload's users and sessions: the scenario then carries the logs' volume.
    let measured = workload.as_ref().and_then(|w| w.2.as_ref());
    let users = args
        .users
        .or_else(|| {
            measured
                .and_then(|m| m.users)
                .map(|u| u.clamp(1, 100_000) as u32)
        })
        .unwrap_or(500);
    let text = scenario_text(&Template {
        use_case: args.use_case,
        users,
        model,
        region: &args.region,
        utc_offset_h: args.utc_offset,
        workload_file: workload.as_ref().map(|(p, daily, _)| (p.as_str(), *daily)),
        sessions_per_user_per_day: measured.and_then(|m| m.sessions_per_user_per_day),
    });
    // What `plan` will do with it: parse, read the workload file, validate.
    Scenario::parse_with(&text, &args.out.display().to_string(), |file| {
        super::plan::read_beside(base, file)
    })
    .map_err(|e| anyhow!("the scenario written would not plan: {e}"))?;
    write_atomically(&args.out, &text)?;
    eprintln!(
        "wrote {}: {:?} use case, {} users, {}; plan it with `llmcap plan {}`",
        args.out.display(),
        args.use_case,
        users,
        model.name,
        args.out.display()
    );
    Ok(())
}

/// `path` as the scenario in `base` names it: relative when both are under the working
/// directory's tree, else absolute.
fn relative_to(path: &Path, base: &Path) -> Result<String> {
    let absolute = |p: &Path| -> Result<PathBuf> {
        std::fs::canonicalize(p).with_context(|| format!("cannot resolve {}", p.display()))
    };
    let (target, from) = (absolute(path)?, absolute(base)?);
    let named = match target.strip_prefix(&from) {
        Ok(rest) => rest.to_path_buf(),
        Err(_) => target,
    };
    named
        .to_str()
        .map(|s| s.replace('\\', "/"))
        .ok_or_else(|| anyhow!("{}: the path is not UTF-8", path.display()))
}
