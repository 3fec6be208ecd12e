//! `llmcap emulate`: start the loopback Bedrock (runtime and mantle)/SageMaker emulator and
//! serve until Ctrl-C.

use std::io::Write;
use std::time::Duration;

use crate::bounds::Range;
use anyhow::{Context, Result};

use crate::cli::EmulateArgs;
use crate::emulate::{
    CloudWatchOut, Credentials, Emulator, EmulatorConfig, Faults, DEFAULT_ENDPOINT_NAME,
};
use crate::files::load_profile;
use crate::quota::bucket::{MantleLimits, QuotaLimits};

/// A per-minute quota: above zero, at most 10^12 tokens or requests a minute.
const QUOTA: Range = Range::above(0.0, 1e12, "tokens or requests a minute");

pub fn run(args: &EmulateArgs) -> Result<()> {
    let profile = load_profile(&args.profile)?;
    let mut faults = Faults::default();
    for spec in &args.fault {
        faults.apply(spec)?;
    }
    for (flag, value) in [
        ("--quota-tpm", args.quota_tpm),
        ("--quota-rpm", args.quota_rpm),
        ("--mantle-input-tpm", args.mantle_input_tpm),
        ("--mantle-output-tpm", args.mantle_output_tpm),
    ] {
        if let Some(v) = value {
            // Leave a quota out for none.
            QUOTA.check(flag, v)?;
        }
    }
    Range::closed(1.0, 100.0, "(times output tokens count against TPM)")
        .check("--output-burndown", args.output_burndown)?;
    let idle_timeout = Duration::from_secs_f64(
        Range::above(0.0, 86_400.0, "seconds").check("--idle-timeout", args.idle_timeout)?,
    );
    for (flag, value) in [
        ("--access-key-id", &args.access_key_id),
        ("--secret-access-key", &args.secret_access_key),
        ("--api-key", &args.api_key),
    ] {
        if value.trim().is_empty() || value.chars().any(char::is_whitespace) {
            anyhow::bail!("{flag}: must be a non-empty key without spaces");
        }
    }
    if args.access_key_id.contains('/') {
        anyhow::bail!(
            "--access-key-id {}: must not contain '/' (it separates the signature's credential scope)",
            args.access_key_id
        );
    }
    let quota = match (args.quota_tpm, args.quota_rpm) {
        (None, None) => None,
        (tpm, rpm) => Some(QuotaLimits {
            tpm: tpm.unwrap_or(f64::INFINITY),
            rpm,
            tpd: None,
            output_burndown: args.output_burndown,
            headroom: 1.0,
        }),
    };
    // clap makes the two flags go together.
    let mantle_quota = match (args.mantle_input_tpm, args.mantle_output_tpm) {
        (Some(input_tpm), Some(output_tpm)) => Some(MantleLimits {
            input_tpm,
            output_tpm,
        }),
        _ => None,
    };
    let mut config = EmulatorConfig::new(profile.clone());
    config.quota = quota;
    config.mantle_quota = mantle_quota;
    config.faults = faults;
    config.noise = !args.no_noise;
    config.seed = args.seed;
    config.model_ids = args.model_id.clone();
    config.endpoint_names = args.endpoint_name.clone();
    config.accept_any_model = args.accept_any_model;
    config.port = args.port;
    config.upstream_url = args.upstream.clone();
    config.upstream_model = args.upstream_model.clone();
    config.credentials = Credentials {
        access_key_id: args.access_key_id.clone(),
        secret_access_key: args.secret_access_key.clone(),
    };
    config.api_key = args.api_key.clone();
    config.idle_timeout = idle_timeout;
    if args.cloudwatch_period == 0 || args.cloudwatch_period > 86_400 {
        anyhow::bail!(
            "--cloudwatch-period {}: must be 1 to 86400 seconds (CloudWatch uses 60 or a multiple of 60 for Bedrock's metrics)",
            args.cloudwatch_period
        );
    }
    config.invocation_log = args.invocation_log.clone();
    config.cloudwatch = args.cloudwatch_out.as_ref().map(|path| CloudWatchOut {
        path: path.clone(),
        period: Duration::from_secs(args.cloudwatch_period),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let mut emulator = Emulator::start(config).await?;
        // The URL first, alone on its line, for scripts to read.
        println!("{}", emulator.url());
        std::io::stdout().flush().ok();
        let generator = match emulator.upstream() {
            Some(upstream) => format!(
                "model {} at {} (proxy mode; quotas and faults from {})",
                upstream.model(),
                upstream.url(),
                args.profile.display()
            ),
            None => format!("{} ({})", args.profile.display(), profile.provenance.source),
        };
        eprintln!(
            "emulating Bedrock model {} (bedrock-runtime, and bedrock-mantle at /v1) and \
             SageMaker endpoint {DEFAULT_ENDPOINT_NAME} with {generator}; Ctrl-C stops",
            profile.model_id,
        );
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = emulator.wait() => {}
        }
        if let Some(path) = &args.cloudwatch_out {
            // Open answers finish first, so they are counted; a second Ctrl-C writes at once.
            eprintln!("stopping: finishing open answers (Ctrl-C again to stop now)");
            let meter = emulator.meter_handle();
            tokio::select! {
                finished = emulator.finish() => finished?,
                _ = tokio::signal::ctrl_c() => meter.write(path)?,
            }
            eprintln!("wrote {}", path.display());
        }
        Ok(())
    })
}
