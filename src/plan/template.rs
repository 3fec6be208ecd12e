//! `llmcap init`: a commented scenario for a use case that `plan` runs as written. Pure: the
//! command checks the output path and writes the text.

use crate::format::thousands;

/// What a scenario is started for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum UseCase {
    /// An internal assistant people chat with: multi-turn, history resent.
    Chat,
    /// Questions answered from retrieved documents: long context, short questions.
    Rag,
    /// A tool-calling agent: many quick turns, tool results fed back.
    Agent,
    /// Documents processed one request at a time: long inputs, a loose SLO.
    Batch,
}

/// A model `init` can plan without a calibration: its built-in profiles.
pub struct KnownModel {
    pub name: &'static str,
    pub bedrock_profile: &'static str,
    pub model_id: &'static str,
    /// `inference_profile = "global"` and a borrowed profile, as the built-in scenario has.
    pub global: Option<&'static str>,
    /// A SageMaker option serving the same model (like for like), where a profile exists.
    pub sagemaker: Option<&'static str>,
}

pub const KNOWN_MODELS: [KnownModel; 5] = [
    KnownModel {
        name: "Llama 3.3 70B Instruct",
        bedrock_profile: "bedrock-llama3-3-70b-instruct.toml",
        model_id: "us.meta.llama3-3-70b-instruct-v1:0",
        global: None,
        sagemaker: Some(
            "[[option]]\nkind = \"sagemaker\"\nname = \"Llama 3.3 70B on ml.p5.48xlarge\"\nmodel = \"Llama 3.3 70B Instruct\"\n# NVIDIA NIM's published table (2 × H100, FP8): four copies on one 8 × H100 instance.\nprofile = \"sagemaker-llama3-3-70b-nim-h100.toml\"\ninstance_type = \"ml.p5.48xlarge\"\nprecision = \"fp8\"\nmodel_copies = 4\nslots_per_instance = 88\n",
        ),
    },
    KnownModel {
        name: "Claude 3.5 Sonnet v2",
        bedrock_profile: "bedrock-claude-3-5-sonnet.toml",
        model_id: "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
        global: None,
        sagemaker: None,
    },
    KnownModel {
        name: "Claude Sonnet 4.5",
        bedrock_profile: "bedrock-claude-sonnet-4-5.toml",
        model_id: "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        global: Some("no serving figures for Claude Sonnet 4.5 are published here; Claude 3.5 Sonnet's published ranges stand in (ASSUMED) until it is calibrated"),
        sagemaker: None,
    },
    KnownModel {
        name: "Claude 3.5 Haiku",
        bedrock_profile: "bedrock-claude-3-5-haiku.toml",
        model_id: "us.anthropic.claude-3-5-haiku-20241022-v1:0",
        global: None,
        sagemaker: None,
    },
    KnownModel {
        name: "Claude 3 Opus",
        bedrock_profile: "bedrock-claude-3-opus.toml",
        model_id: "us.anthropic.claude-3-opus-20240229-v1:0",
        global: None,
        sagemaker: None,
    },
];

pub fn known_model(name: &str) -> Option<&'static KnownModel> {
    let wanted = name.trim().to_ascii_lowercase();
    KNOWN_MODELS
        .iter()
        .find(|m| m.name.to_ascii_lowercase() == wanted)
}

/// What the scenario is written from.
pub struct Template<'a> {
    pub use_case: UseCase,
    pub users: u32,
    pub model: &'a KnownModel,
    pub region: &'a str,
    /// Hours from UTC where the users are.
    pub utc_offset_h: f64,
    /// A workload file to use in place of the use case's (its path as the scenario names it)
    /// and whether it has a daily curve.
    pub workload_file: Option<(&'a str, bool)>,
    /// Sessions a user starts a day, where the workload's logs say (else the use case's).
    pub sessions_per_user_per_day: Option<f64>,
}

struct Case {
    title: &'static str,
    use_case: &'static str,
    sessions: f64,
    slo: &'static str,
    workload: &'static str,
}

fn case(use_case: UseCase) -> Case {
    match use_case {
        UseCase::Chat => Case {
            title: "Internal chat assistant",
            use_case: "Employees chat with an assistant during working hours: drafting, summarising, answering questions.",
            sessions: 3.0,
            slo: "# A reply that starts within a second reads as responsive.\nttft_p95_s = 1.0\ntpot_p95_s = 0.1",
            workload: r#"name = "chat"
# A user reads and types for this long (mean, exponential) between a reply and their next message.
think_time_s = 30.0
# Requests a session (mean; geometric), and the pause between sessions (mean).
turns_per_session = 4.0
session_gap_s = 900.0

# One class of request. A length is a number, or { dist = "lognormal", median = M, p90 = P },
# or { dist = "quantiles", points = [[0.0, min], [0.5, median], [1.0, max]] }.
[[workload.class]]
name = "chat"
share = 1.0
# The app's instructions, sent first in every request; all of it can be cached.
system_prompt = 1200
cached_prefix = 1200
message = { dist = "lognormal", median = 60, p90 = 250 }
reply = { dist = "lognormal", median = 250, p90 = 600 }
max_tokens = 1024
# Earlier messages and replies are resent with each turn.
history = true"#,
        },
        UseCase::Rag => Case {
            title: "Document Q&A (retrieval-augmented)",
            use_case: "Staff ask questions answered from retrieved documents: a fixed instruction prefix, retrieved passages, short questions.",
            sessions: 5.0,
            slo: "# Long prompts take longer to prefill: two seconds to the first token.\nttft_p95_s = 2.0\ntpot_p95_s = 0.1",
            workload: r#"name = "rag"
think_time_s = 60.0
turns_per_session = 2.0
session_gap_s = 1200.0

# A length is a number, or { dist = "lognormal", median = M, p90 = P }, or
# { dist = "quantiles", points = [[0.0, min], [0.5, median], [1.0, max]] }.
[[workload.class]]
name = "question"
share = 1.0
system_prompt = 1500
cached_prefix = 1500
# Retrieved passages, different for every question (not kept in the history).
context = { dist = "lognormal", median = 2500, p90 = 5000 }
message = { dist = "lognormal", median = 50, p90 = 150 }
reply = { dist = "lognormal", median = 350, p90 = 700 }
max_tokens = 1024
history = true"#,
        },
        UseCase::Agent => Case {
            title: "Tool-calling agent",
            use_case: "An agent that plans, calls tools and reads their results in a loop until a task is done.",
            sessions: 4.0,
            slo: "# Each step's reply gates the next tool call.\nttft_p95_s = 2.0\ntpot_p95_s = 0.1",
            workload: r#"name = "agent"
# A tool runs for this long between the model's steps.
think_time_s = 2.0
turns_per_session = 8.0
session_gap_s = 1800.0
streaming = false

# A length is a number, or { dist = "lognormal", median = M, p90 = P }, or
# { dist = "quantiles", points = [[0.0, min], [0.5, median], [1.0, max]] }.
[[workload.class]]
name = "step"
share = 1.0
# Instructions and tool definitions.
system_prompt = 3000
cached_prefix = 3000
# The last tool's result.
context = { dist = "lognormal", median = 400, p90 = 1500 }
message = { dist = "lognormal", median = 30, p90 = 100 }
reply = { dist = "lognormal", median = 150, p90 = 400 }
max_tokens = 2048
history = true"#,
        },
        UseCase::Batch => Case {
            title: "Document processing",
            use_case: "Documents summarised or extracted one request at a time through the real-time API, throughput over latency.",
            sessions: 20.0,
            slo: "# Nobody watches the reply stream: a loose SLO.\nttft_p95_s = 30.0\ntpot_p95_s = 0.5",
            workload: r#"name = "batch"
turns_per_session = 1.0
session_gap_s = 600.0
streaming = false

# A length is a number, or { dist = "lognormal", median = M, p90 = P }, or
# { dist = "quantiles", points = [[0.0, min], [0.5, median], [1.0, max]] }.
[[workload.class]]
name = "document"
share = 1.0
system_prompt = 500
context = { dist = "lognormal", median = 6000, p90 = 12000 }
message = 50
reply = { dist = "lognormal", median = 400, p90 = 900 }
max_tokens = 2048"#,
        },
    }
}

/// The scenario's text.
pub fn scenario_text(t: &Template) -> String {
    let c = case(t.use_case);
    let m = t.model;
    let mut out = format!(
        "# Written by `llmcap init`: a starting point that `llmcap plan` runs as it is. Change what\n\
         # you know: your users, their traffic, your SLO, your account's current quota.\n\
         name = \"{title} for {users} users\"\n\
         use_case = \"{use_case}\"\n\
         # Everyone who may use it; the daily curve below (or peak_active_fraction) sets how many\n\
         # are active in the busiest hour.\n\
         employees = {users}\n\
         # Sessions an employee starts on a working day.\n\
         sessions_per_user_per_day = {sessions}\n\
         workdays_per_month = 22.0\n\
         region = \"{region}\"\n",
        title = c.title,
        users = t.users,
        use_case = c.use_case,
        sessions = t.sessions_per_user_per_day.unwrap_or(c.sessions),
        region = t.region,
    );
    if let Some((file, has_daily)) = t.workload_file {
        out.push_str(&format!(
            "# Your traffic (e.g. learned by `llmcap workload fit`), relative to this file.\nworkload = \"{file}\"\n"
        ));
        if !has_daily {
            out.push_str("# The workload has no daily curve: the share of employees active in the busiest hour.\npeak_active_fraction = 0.15\n");
        }
    }
    out.push_str(&format!(
        "# Growth in volume a month, for the quota documents' outlook.\nmonthly_growth = 0.02\n\n[slo]\n{}\nmax_error_rate = 0.01\n",
        c.slo
    ));
    if t.workload_file.is_none() {
        out.push_str(&format!(
            "\n[workload]\n{}\n\n# The office day (the built-in curve) where the users are; add zones for other offices,\n# or give `hourly = [24 shares]` from 00:00 local time.\n[workload.daily]\nzone = [{{ utc_offset_h = {}, share = 1.0 }}]\n",
            c.workload, t.utc_offset_h
        ));
    }
    let (profile_id, inference) = match m.global {
        Some(_) => (m.model_id, "inference_profile = \"global\"\n"),
        None => (m.model_id, ""),
    };
    out.push_str(&format!(
        "\n# {model} on Bedrock, priced per token. quota_tpm: your account's current value in\n\
         # Service Quotas (the default shown is a common account default; check yours).\n\
         [[option]]\n\
         kind = \"bedrock\"\n\
         name = \"{model} on Bedrock\"\n\
         model = \"{model}\"\n\
         profile = \"{profile}\"\n\
         model_id = \"{profile_id}\"\n\
         {inference}quota_tpm = {quota}\n",
        model = m.name,
        profile = m.bedrock_profile,
        quota = thousands(600_000.0).replace(',', "_"),
    ));
    if let Some(why) = m.global {
        out.push_str(&format!("borrowed = \"{why}\"\n"));
    }
    if let Some(sagemaker) = m.sagemaker {
        out.push_str("\n# The same model on dedicated SageMaker instances: compared on price (break-even).\n");
        out.push_str(sagemaker);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Scenario;

    /// Every use case and model writes a scenario that parses and validates as it is.
    #[test]
    fn every_template_is_a_valid_scenario() {
        for use_case in [UseCase::Chat, UseCase::Rag, UseCase::Agent, UseCase::Batch] {
            for model in &KNOWN_MODELS {
                let text = scenario_text(&Template {
                    use_case,
                    users: 500,
                    model,
                    region: "us-east-1",
                    utc_offset_h: -5.0,
                    workload_file: None,
                    sessions_per_user_per_day: None,
                });
                if let Err(e) = Scenario::parse(&text, "init.toml") {
                    panic!("{use_case:?} / {}: {e}\n{text}", model.name);
                }
            }
        }
    }
}
