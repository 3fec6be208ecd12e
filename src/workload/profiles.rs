//! The named workload profiles of seed 004 (its SageMaker AIPerf workflow), built in.

use super::{LengthDist, RequestClass, WorkloadSpec};

/// (name, concurrency, mean input tokens, output tokens, streaming, description)
const SEED_004: [(&str, u32, f64, f64, bool, &str); 6] = [
    (
        "multi_turn_chat",
        10,
        550.0,
        150.0,
        true,
        "Multi-turn conversational workload",
    ),
    (
        "rag_document_qa",
        8,
        2048.0,
        256.0,
        true,
        "RAG with long context retrieval",
    ),
    (
        "agent_tool_calling",
        4,
        800.0,
        100.0,
        false,
        "Tool-calling agent (structured output)",
    ),
    (
        "long_context_scaling",
        2,
        8192.0,
        512.0,
        true,
        "Long-context stress test",
    ),
    (
        "production_traffic_mix",
        16,
        1024.0,
        200.0,
        true,
        "Simulated production traffic mix",
    ),
    (
        "shared_system_prompt",
        12,
        300.0,
        150.0,
        true,
        "Short requests with shared system prompt",
    ),
];

/// All six, in seed 004's order.
pub fn builtin() -> Vec<WorkloadSpec> {
    SEED_004.iter().map(|row| spec(*row)).collect()
}

pub fn by_name(name: &str) -> Option<WorkloadSpec> {
    builtin().into_iter().find(|w| w.name == name)
}

fn spec(
    (name, concurrency, input, output, streaming, description): (&str, u32, f64, f64, bool, &str),
) -> WorkloadSpec {
    let mut w = WorkloadSpec::single(
        name.to_string(),
        RequestClass::simple(
            LengthDist::fixed(input),
            LengthDist::fixed(output),
            Some(output * 2.0),
        ),
    );
    w.description =
        format!("{description} (seed 004: concurrency {concurrency}, {input} in / {output} out)");
    w.concurrency = concurrency;
    w.streaming = streaming;
    let class = &mut w.classes[0];
    match name {
        // Four turns: 200 system + growing history + 50-token messages, replies of 150 — the
        // prompts run 250, 450, 650, 850 tokens, 550 on average.
        "multi_turn_chat" => {
            class.message = LengthDist::fixed(50.0);
            class.system_prompt = LengthDist::fixed(200.0);
            class.history = true;
            w.think_time_s = 20.0;
            w.turns_per_session = 4.0;
            w.session_gap_s = 600.0;
        }
        // The same 250-token system prompt on every request, short questions.
        "shared_system_prompt" => {
            class.message = LengthDist::fixed(50.0);
            class.system_prompt = LengthDist::fixed(250.0);
        }
        // Sizes vary in production: log-normal around the published means.
        "production_traffic_mix" => {
            class.message = LengthDist::LogNormal {
                median: input * (-0.5_f64 * 0.6 * 0.6).exp(),
                sigma: 0.6,
            };
            class.reply = LengthDist::LogNormal {
                median: output * (-0.5_f64 * 0.5 * 0.5).exp(),
                sigma: 0.5,
            };
            class.max_tokens = Some(1_024.0);
        }
        _ => {}
    }
    w
}
