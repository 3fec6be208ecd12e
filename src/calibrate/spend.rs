//! The spend guard: before a paid calibration, the worst case it can cost — every request at its
//! full prompt and max_tokens, at catalog prices — and a refusal above the limit.

use crate::cost::catalog::BedrockPrice;

use super::sweep::SweepSpec;

#[derive(Clone, Debug, PartialEq)]
pub struct SpendEstimate {
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub usd: f64,
    /// The price row's source and date, so the figure can be checked.
    pub price_note: String,
}

pub fn worst_case(spec: &SweepSpec, price: &BedrockPrice) -> SpendEstimate {
    let (mut requests, mut input, mut output) = (0u64, 0u64, 0u64);
    if spec.auto.is_some() {
        // Levels are chosen as the run goes: every level it may run, at the largest sizes.
        let most = |v: &[u32]| u64::from(v.iter().copied().max().unwrap_or(0));
        requests = spec.total_requests();
        input = requests * most(&spec.prompt_tokens);
        output = requests * most(&spec.output_tokens);
    }
    for level in spec.levels().into_iter().filter(|_| spec.auto.is_none()) {
        let per_level = spec.requests_sent_per_level(level.concurrency);
        requests += per_level;
        input += per_level * u64::from(level.prompt_tokens);
        output += per_level * u64::from(level.output_tokens);
    }
    let usd =
        input as f64 / 1e6 * price.input_per_mtok + output as f64 / 1e6 * price.output_per_mtok;
    SpendEstimate {
        requests,
        input_tokens: input,
        output_tokens: output,
        usd,
        price_note: format!(
            "{} in {}: ${}/M input, ${}/M output ({}, {})",
            price.model_id,
            price.region,
            price.input_per_mtok,
            price.output_per_mtok,
            price.source,
            price.date
        ),
    }
}

/// A refused run: its worst case and the limit it exceeds, with the ways out.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error(
    "this run could cost up to ${usd:.2} ({requests} requests, {input} input + {output} output \
     tokens at {price}), above --max-cost {max_usd:.2}; lower --requests-per-level or the sizes, \
     raise --max-cost, or pass --yes",
    usd = estimate.usd,
    requests = estimate.requests,
    input = estimate.input_tokens,
    output = estimate.output_tokens,
    price = estimate.price_note
)]
pub struct OverBudget {
    pub estimate: SpendEstimate,
    pub max_usd: f64,
}

/// `Err` with the reason and the way out when the worst case exceeds `max_usd` and the user
/// has not said `--yes`.
pub fn check(estimate: &SpendEstimate, max_usd: f64, yes: bool) -> Result<(), OverBudget> {
    if estimate.usd <= max_usd || yes {
        return Ok(());
    }
    Err(OverBudget {
        estimate: estimate.clone(),
        max_usd,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::sweep::tests::spec;

    fn price() -> BedrockPrice {
        BedrockPrice {
            model_id: "m".into(),
            name: "M".into(),
            region: "us-east-1".into(),
            inference_profile: "regional".into(),
            input_per_mtok: 3.0,
            output_per_mtok: 15.0,
            batch_input_per_mtok: None,
            batch_output_per_mtok: None,
            cache_write_per_mtok: None,
            cache_read_per_mtok: None,
            provisioned_per_model_unit_hour: None,
            source: "test".into(),
            date: "2026-11-24".into(),
            ..BedrockPrice::default()
        }
    }

    #[test]
    fn worst_case_is_every_request_at_full_size() {
        // 3 concurrencies (1, 2, 4) × (64 and 1024 prompt) × 128 out: 10 measured and 1 warm-up
        // a level, and up to c − 1 cool-downs (0, 1, 3), so 37 requests per prompt size.
        let estimate = worst_case(&spec(), &price());
        assert_eq!(estimate.requests, 74);
        assert_eq!(estimate.input_tokens, 37 * 64 + 37 * 1024);
        assert_eq!(estimate.output_tokens, 74 * 128);
        let usd = (37.0 * 1088.0) / 1e6 * 3.0 + (74.0 * 128.0) / 1e6 * 15.0;
        assert!((estimate.usd - usd).abs() < 1e-12);
        assert!(check(&estimate, 1.0, false).is_ok());
        let refusal = check(&estimate, 0.01, false).unwrap_err().to_string();
        assert!(
            refusal.starts_with("this run could cost up to $0.26 (74 requests")
                && refusal.contains("above --max-cost 0.01")
                && refusal.contains("--yes"),
            "{refusal}"
        );
        assert!(check(&estimate, 0.01, true).is_ok());
    }
}
