//! Monthly cost per option and the break-even between a per-token and a per-hour service.

use serde::Serialize;

use super::catalog::BedrockPrice;

/// Hours in an average month (AWS bills an always-on instance this many).
pub use super::fleet::HOURS_IN_MONTH as HOURS_PER_MONTH;

/// Tokens in a month, by how they are billed.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TokenVolume {
    pub input_tokens: f64,
    pub output_tokens: f64,
    pub cache_write_tokens: f64,
    pub cache_read_tokens: f64,
}

/// Bedrock on-demand: Σ tokens × price per million.
pub fn bedrock_on_demand(v: &TokenVolume, p: &BedrockPrice) -> f64 {
    (v.input_tokens * p.input_per_mtok
        + v.output_tokens * p.output_per_mtok
        + v.cache_write_tokens * p.cache_write_per_mtok.unwrap_or(p.input_per_mtok)
        + v.cache_read_tokens * p.cache_read_per_mtok.unwrap_or(p.input_per_mtok))
        / 1e6
}

/// Bedrock batch (half price where offered); `None` when the model has no batch price.
pub fn bedrock_batch(v: &TokenVolume, p: &BedrockPrice) -> Option<f64> {
    Some(
        (v.input_tokens * p.batch_input_per_mtok? + v.output_tokens * p.batch_output_per_mtok?)
            / 1e6,
    )
}

/// The monthly volume at which `fixed_a + per_unit_a·v = fixed_b + per_unit_b·v`; `None` when
/// the lines never cross at a positive volume.
pub fn crossover_volume(
    fixed_a: f64,
    per_unit_a: f64,
    fixed_b: f64,
    per_unit_b: f64,
) -> Option<f64> {
    let slope = per_unit_a - per_unit_b;
    if slope == 0.0 {
        return None;
    }
    let v = (fixed_b - fixed_a) / slope;
    (v.is_finite() && v > 0.0).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sonnet() -> BedrockPrice {
        BedrockPrice {
            model_id: "m".into(),
            name: "m".into(),
            region: "us-east-1".into(),
            inference_profile: "regional".into(),
            input_per_mtok: 3.0,
            output_per_mtok: 15.0,
            batch_input_per_mtok: Some(1.5),
            batch_output_per_mtok: Some(7.5),
            cache_write_per_mtok: Some(3.75),
            cache_read_per_mtok: Some(0.3),
            provisioned_per_model_unit_hour: None,
            source: "s".into(),
            date: "d".into(),
            ..BedrockPrice::default()
        }
    }

    #[test]
    fn a_bedrock_month_is_tokens_times_prices_exactly() {
        let v = TokenVolume {
            input_tokens: 120_000_000.0,
            output_tokens: 30_000_000.0,
            cache_write_tokens: 2_000_000.0,
            cache_read_tokens: 40_000_000.0,
        };
        // 120×3 + 30×15 + 2×3.75 + 40×0.3 = 360 + 450 + 7.5 + 12
        assert!((bedrock_on_demand(&v, &sonnet()) - 829.5).abs() < 1e-9);
        assert!((bedrock_batch(&v, &sonnet()).unwrap() - (180.0 + 225.0)).abs() < 1e-9);
    }

    #[test]
    fn the_crossover_of_a_per_request_line_and_a_month_of_one_instance() {
        // $0.01 a request against 730 h × $7.09 = $5,175.70: they cross at 517,570 requests.
        let month = HOURS_PER_MONTH * 7.09;
        assert!((month - 5_175.7).abs() < 1e-6);
        let v = crossover_volume(0.0, 0.01, month, 0.0).unwrap();
        assert!((v - 517_570.0).abs() < 1e-6);
        assert_eq!(crossover_volume(0.0, 0.01, 0.0, 0.01), None);
    }
}
