//! A server model from physics alone: the roofline of the accelerators and the model, slowed
//! by the efficiency servers of that vendor reach (`physics::efficiency`), for hardware nobody
//! has benchmarked yet. A calibration then replaces it.

use super::{ExpertStep, Floors, ServerModel, Sharing};
use crate::perf::model::{TpotForm, TpotModel};
use crate::physics::efficiency::Efficiency;
use crate::physics::Roofline;

/// Time outside the batch (network, tokenisation, the HTTP server), assumed: the published
/// tables' one-user TTFTs less their prefills run 0.03–0.25 s.
pub const ASSUMED_OVERHEAD_S: f64 = 0.05;
/// The most sequences a server batches by default (vLLM's `max_num_seqs`).
pub const DEFAULT_MAX_SEQUENCES: f64 = 256.0;
/// Share of accelerator memory the server takes (vLLM's `gpu_memory_utilization`).
pub const MEMORY_UTILISATION: f64 = 0.9;
/// The prefill chunk of vLLM V1's online default, SGLang's and TensorRT-LLM's.
pub const CHUNK_TOKENS: f64 = 8_192.0;

/// The server model; `context_tokens`: a sequence's prompt and reply, which with the memory
/// left after the weights sets how many sequences fit (at most [`DEFAULT_MAX_SEQUENCES`]).
/// `None` when the weights do not fit.
pub fn server_from_hardware(
    roofline: &Roofline,
    efficiency: &Efficiency,
    context_tokens: f64,
) -> Option<ServerModel> {
    let fits = roofline.max_sequences(context_tokens, MEMORY_UTILISATION)?;
    let layers_s = roofline.architecture.layers * efficiency.layer_s;
    let equation = TpotForm::Linear.equation().to_string();
    Some(ServerModel {
        max_batch: Some(fits.floor().clamp(1.0, DEFAULT_MAX_SEQUENCES)),
        step: TpotModel {
            form: TpotForm::Linear,
            t0_s: layers_s + roofline.fixed_weights_s() / efficiency.bandwidth,
            t1_s: efficiency.sequence_compute_s(roofline),
            t2_s: roofline.kv_s_per_token() / efficiency.bandwidth,
            theta: None,
            equation,
        },
        step_s_per_mean_context: 0.0,
        prefill_s_per_token: roofline.prefill_s_per_token() / efficiency.compute,
        prefill_s_per_request: 0.0,
        attention_s_per_token2: roofline.attention_s_per_token2() / efficiency.compute,
        sharing: Sharing::Chunked {
            tokens_per_step: CHUNK_TOKENS,
        },
        overhead_s: ASSUMED_OVERHEAD_S,
        experts: roofline.architecture.experts.map(|experts| ExpertStep {
            experts,
            step_s_all_experts: roofline.all_experts_s() / efficiency.bandwidth,
        }),
        floors: Some(Floors::of(roofline)),
        reply_spread: 0.0,
        shared_prefix_tokens: 0.0,
    })
}
