//! Whether an option's profile measured the option's own model, hardware and precision. A
//! profile measured elsewhere is used only where the scenario says why (`borrowed = "why"`);
//! the plan then marks it wherever the option appears and widens its capacity interval.

use serde::{Deserialize, Serialize};

use super::hosting::{Hardware, HostingCatalog, ServedModel};
use crate::format::seconds_short;
use crate::perf::server::Floors;
use crate::perf::Profile;
use crate::physics::{Precision, Roofline};

/// A borrowed profile's capacity interval is this many times wider, in log terms (its σ is
/// doubled): stated, not fitted — nothing measured says how far another machine differs.
pub const BORROWED_WIDENING: f64 = 2.0;

/// A profile used for an option it did not measure, and why the scenario allows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Borrowed {
    /// The scenario's reason.
    pub why: String,
    /// How the profile's measurement differs from the option (empty: the scenario marked it
    /// borrowed although nothing recorded differs).
    pub differences: Vec<String>,
    /// The factor on the capacity interval's log-spread (1 where the option has none: Bedrock).
    pub widening: f64,
    /// Each of the profile's costs that beat the option's own roofline, raised to its floor
    /// (both numbers named).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_to_floors: Vec<String>,
}

impl Borrowed {
    /// A SageMaker option's: its capacity interval is widened.
    pub fn new(why: &str, differences: Vec<String>) -> Borrowed {
        Borrowed {
            why: why.trim().to_string(),
            differences,
            widening: BORROWED_WIDENING,
            held_to_floors: Vec::new(),
        }
    }

    /// A Bedrock option's: no capacity interval to widen.
    pub fn unwidened(why: &str, differences: Vec<String>) -> Borrowed {
        Borrowed {
            widening: 1.0,
            ..Borrowed::new(why, differences)
        }
    }

    /// One line for the table's and documents' readers.
    pub fn reading(&self) -> String {
        let differs = if self.differences.is_empty() {
            "marked borrowed by the scenario".to_string()
        } else {
            self.differences.join("; ")
        };
        let widened = if self.widening > 1.0 {
            format!(
                "; capacity interval widened ×{} in log terms",
                self.widening
            )
        } else {
            String::new()
        };
        let floors = if self.held_to_floors.is_empty() {
            String::new()
        } else {
            format!(
                "; held to this hardware's roofline: {}",
                self.held_to_floors.join("; ")
            )
        };
        format!(
            "borrowed profile ({differs}); why: {}{widened}{floors}",
            self.why
        )
    }
}

/// What a SageMaker option runs: the model, the instance's accelerators split over its copies,
/// the precision.
pub struct OptionHardware<'a> {
    pub model: &'a ServedModel,
    pub hardware: &'a Hardware,
    pub copies: u32,
    pub precision: Precision,
}

/// Each way `profile` did not measure what `option` runs; a field the profile leaves out
/// counts as a difference (it cannot be shown to match).
pub fn differences(
    profile: &Profile,
    catalog: &HostingCatalog,
    option: &OptionHardware,
) -> Vec<String> {
    let Some(m) = &profile.hardware else {
        let mut out = vec![
            "the profile does not say what it measured (no [hardware] table: model, accelerator, count, precision)"
                .to_string(),
        ];
        // Its model id or name may still say which model it timed.
        let bare = crate::cost::catalog::base_model_id(&profile.model_id);
        let measured = catalog
            .models
            .iter()
            .find(|m| {
                m.bedrock_model_ids
                    .iter()
                    .any(|id| crate::cost::catalog::base_model_id(id) == bare)
            })
            .or_else(|| catalog.model_in_name(&profile.model_id))
            .or_else(|| catalog.model_in_name(&profile.name));
        if let Some(other) = measured.filter(|m| m.name != option.model.name) {
            out.push(format!(
                "its model id {} is {}, the option serves {} (it measured {})",
                profile.model_id, other.name, option.model.name, profile.provenance.target
            ));
        }
        return out;
    };
    let mut out = Vec::new();
    match &m.model {
        Some(name) => {
            let same = catalog
                .model(name)
                .is_ok_and(|served| served.name == option.model.name);
            if !same {
                out.push(format!(
                    "it measured {name}, the option serves {}",
                    option.model.name
                ));
            }
        }
        None => out.push("the profile does not name its model".to_string()),
    }
    let same_accelerator = catalog
        .accelerator(&m.accelerator)
        .is_ok_and(|a| a.is_named(&option.hardware.accelerator))
        || crate::physics::accelerator::squash(&m.accelerator)
            == crate::physics::accelerator::squash(&option.hardware.accelerator);
    let per_copy = option.hardware.accelerators / option.copies.max(1);
    if !same_accelerator || m.count != per_copy {
        out.push(format!(
            "it measured one copy on {} × {}, the option gives each copy {} × {} ({} with {} cop{})",
            m.count,
            m.accelerator,
            per_copy,
            option.hardware.accelerator,
            option.hardware.instance_type,
            option.copies,
            if option.copies == 1 { "y" } else { "ies" }
        ));
    }
    match m.precision {
        Some(p) if p != option.precision => out.push(format!(
            "it measured {} weights, the option serves {}",
            p.name(),
            option.precision.name()
        )),
        Some(_) => {}
        None => out.push("the profile does not say its precision".to_string()),
    }
    out
}

/// The option's profile is its own, or borrowed with the scenario's reason; otherwise the
/// refusal, naming each difference and the ways out.
pub fn check(
    profile: &Profile,
    catalog: &HostingCatalog,
    option: &OptionHardware,
    borrowed: Option<&str>,
) -> Result<Option<Borrowed>, String> {
    let differences = differences(profile, catalog, option);
    match borrowed {
        Some(why) => Ok(Some(Borrowed::new(why, differences))),
        None if differences.is_empty() => Ok(None),
        None => Err(format!(
            "its profile was not measured on what it runs: {}. Use a profile of this model on this hardware ({}; `llmcap fit --model M --accelerator A --count N --precision P` on a table of it; or `llmcap profile-from-hardware` for hardware nobody has measured), or say why this one may stand in with borrowed = \"why\" on the option (the plan is then marked borrowed and its capacity interval widened ×{BORROWED_WIDENING})",
            differences.join("; "),
            "calibrate it"
        )),
    }
}

/// The roofline of what the option runs: its model on one copy's share of the instance's
/// accelerators at its precision; `None` where the catalogs lack the figures.
pub fn option_roofline(catalog: &HostingCatalog, option: &OptionHardware) -> Option<Roofline> {
    let accelerator = catalog.accelerator(&option.hardware.accelerator).ok()?;
    let per_copy = option.hardware.accelerators / option.copies.max(1);
    Roofline::new(
        option.model.architecture()?,
        accelerator,
        per_copy,
        option.precision,
    )
    .ok()
}

/// A borrowed profile held to the option's own floors: a decode step, a held token's read or
/// a prompt token's prefill faster than the option's hardware can run is raised to the floor.
/// Returns the profile to simulate and one line per cost raised, naming both numbers.
pub fn held_to_floors(profile: &Profile, floors: &Floors, on: &str) -> (Profile, Vec<String>) {
    let mut held = profile.clone();
    let mut notes = Vec::new();
    let mut raise = |what: &str, value: &mut f64, floor: f64| {
        if floor > 0.0 && *value < floor {
            notes.push(format!(
                "{what} {} is below {on}'s floor {}, raised to it",
                seconds_short(*value),
                seconds_short(floor)
            ));
            *value = floor;
        }
    };
    let m = &mut held.model;
    match &mut m.server {
        Some(server) => {
            raise("the decode step", &mut server.step.t0_s, floors.step_t0_s);
            raise(
                "a held token's KV read",
                &mut server.step.t2_s,
                floors.step_s_per_held_token,
            );
            raise(
                "a prompt token's prefill",
                &mut server.prefill_s_per_token,
                floors.prefill_s_per_token,
            );
        }
        None => {
            raise("the decode step", &mut m.tpot.t0_s, floors.step_t0_s);
            raise(
                "a prompt token's prefill",
                &mut m.ttft.a1_s,
                floors.prefill_s_per_token,
            );
        }
    }
    (held, notes)
}
