//! What a Bedrock option's month costs under each way AWS sells the same tokens: the on-demand
//! service tiers Standard, Priority and Flex (one quota, three prices), Batch (half price, a
//! 24-hour window), Reserved (tokens per minute bought by the month, input and output apart)
//! and Provisioned Throughput (model units by the hour). Pure arithmetic on the month's tokens.

use serde::{Deserialize, Serialize};

use crate::cost::catalog::BedrockPrice;
use crate::cost::money::{bedrock_on_demand, TokenVolume, HOURS_PER_MONTH};

/// Minutes in the average month a reservation is billed for (730 h).
pub const MINUTES_PER_MONTH: f64 = HOURS_PER_MONTH * 60.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Standard,
    /// Standard with the scenario's cacheable prefix read from the prompt cache (shown when the
    /// scenario does not already cache it and the model offers caching).
    StandardCachedPrefix,
    Priority,
    Flex,
    Batch,
    Reserved,
    /// Reserved for three months: a lower monthly price, three months committed.
    Reserved3Month,
    Provisioned,
}

impl Tier {
    pub fn label(self) -> &'static str {
        match self {
            Tier::Standard => "Standard (on demand)",
            Tier::StandardCachedPrefix => "Standard, system prompt cached",
            Tier::Priority => "Priority",
            Tier::Flex => "Flex",
            Tier::Batch => "Batch",
            Tier::Reserved => "Reserved, 1-month term",
            Tier::Reserved3Month => "Reserved, 3-month term",
            Tier::Provisioned => "Provisioned Throughput",
        }
    }
}

/// One tier's month, and whether this workload can run on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TierCost {
    pub tier: Tier,
    pub monthly_usd: f64,
    /// Whether an interactive workload like this one can use the tier as is.
    pub fits_workload: bool,
    pub note: String,
}

/// Prices `volume` at a tier whose input and output prices are `input`/`output` per million;
/// cache reads and writes scale with the tier's input price against Standard's.
fn at_prices(volume: &TokenVolume, p: &BedrockPrice, input: f64, output: f64) -> f64 {
    let scale = if p.input_per_mtok > 0.0 {
        input / p.input_per_mtok
    } else {
        1.0
    };
    let scaled = BedrockPrice {
        input_per_mtok: input,
        output_per_mtok: output,
        cache_read_per_mtok: p.cache_read_per_mtok.map(|c| c * scale),
        cache_write_per_mtok: p.cache_write_per_mtok.map(|c| c * scale),
        ..p.clone()
    };
    bedrock_on_demand(volume, &scaled)
}

/// Standard, Priority, Flex and Batch for the month's `volume` (as simulated), plus Standard
/// with the cacheable prefix cached when `cached` is given.
pub fn on_demand_tiers(
    volume: &TokenVolume,
    cached: Option<&TokenVolume>,
    p: &BedrockPrice,
) -> Vec<TierCost> {
    let mut tiers = vec![TierCost {
        tier: Tier::Standard,
        monthly_usd: bedrock_on_demand(volume, p),
        fits_workload: true,
        note: "as simulated; the quota applies".into(),
    }];
    if let Some(cached) = cached {
        tiers.push(TierCost {
            tier: Tier::StandardCachedPrefix,
            monthly_usd: bedrock_on_demand(cached, p),
            fits_workload: true,
            note: "the system prompt written to the cache once per quiet spell and read after (set [prompt_cache] in the scenario to plan with it)".into(),
        });
    }
    if let (Some(i), Some(o)) = (p.priority_input_per_mtok, p.priority_output_per_mtok) {
        tiers.push(TierCost {
            tier: Tier::Priority,
            monthly_usd: at_prices(volume, p, i, o),
            fits_workload: true,
            note: "the same quota, served ahead of Standard with faster output (the profile measures Standard, so latency here is not credited)".into(),
        });
    }
    if let (Some(i), Some(o)) = (p.flex_input_per_mtok, p.flex_output_per_mtok) {
        tiers.push(TierCost {
            tier: Tier::Flex,
            monthly_usd: at_prices(volume, p, i, o),
            fits_workload: false,
            note: "best effort: slower and throttled first when the service is busy; for work that tolerates delay, not for the SLO above".into(),
        });
    }
    if let (Some(i), Some(o)) = (p.batch_input_per_mtok, p.batch_output_per_mtok) {
        tiers.push(TierCost {
            tier: Tier::Batch,
            monthly_usd: at_prices(volume, p, i, o),
            fits_workload: false,
            note: "jobs of many prompts answered within 24 hours: not for interactive traffic"
                .into(),
        });
    }
    tiers
}

/// Reserving the peak's tokens per minute for a month, against Standard for the same tokens.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReserveDecision {
    /// Reserved: the peak's p99 minute of uncached input tokens and of output tokens, each at
    /// least AWS's minimum reservation.
    pub input_tpm: f64,
    pub output_tpm: f64,
    /// What the peak needs, before the minimums: where it is below them, the reservation is
    /// priced at the minimum (and the plan says so).
    #[serde(default)]
    pub needed_input_tpm: f64,
    #[serde(default)]
    pub needed_output_tpm: f64,
    pub price_input_per_ktpm_month: f64,
    pub price_output_per_ktpm_month: f64,
    pub price_source: String,
    /// The reservation's month (1-month term).
    pub monthly_usd: f64,
    /// The month's uncached input and output tokens at Standard prices (what the reservation
    /// replaces; overflow above the p99 minute stays on Standard and is left out).
    pub standard_usd_same_tokens: f64,
    /// Share of the reserved capacity the month's tokens use (tokens ÷ (TPM × 43,800 min)).
    pub load_factor_input: f64,
    pub load_factor_output: f64,
    /// The load factor above which reserving that side pays at these prices.
    pub break_even_load_factor_input: f64,
    pub break_even_load_factor_output: f64,
    /// The reserved price per 1K TPM-month below which reserving pays at this load factor.
    pub break_even_price_input: f64,
    pub break_even_price_output: f64,
    /// Requests a month at this peak (the same reservation, more hours of use) above which the
    /// reservation costs less than Standard.
    pub break_even_requests_per_month: f64,
    pub pays: bool,
}

/// The Reserved tier's smallest reservation (AWS Bedrock User Guide, "Service tiers for
/// optimizing performance and cost", read 2026-12-07): 100,000 input and 10,000 output tokens
/// per minute; input TPM counts InputTokenCount and CacheWriteInputTokens. Terms of 1 or 3
/// months, a fixed price per 1K TPM billed monthly; overflow runs on Standard.
pub const RESERVED_MIN_INPUT_TPM: f64 = 100_000.0;
pub const RESERVED_MIN_OUTPUT_TPM: f64 = 10_000.0;

/// Whether reserving pays: `monthly_input`/`monthly_output` are the month's uncached input and
/// output tokens, `peak_input_tpm`/`peak_output_tpm` the peak's p99 minutes; `None` when the
/// catalog has no Reserved prices for the model or the peak has no tokens.
pub fn reserve(
    p: &BedrockPrice,
    monthly_input: f64,
    monthly_output: f64,
    peak_input_tpm: f64,
    peak_output_tpm: f64,
    monthly_requests: f64,
) -> Option<ReserveDecision> {
    let (price_in, price_out) = (
        p.reserved_input_per_ktpm_month?,
        p.reserved_output_per_ktpm_month?,
    );
    if !(peak_input_tpm > 0.0 && peak_output_tpm > 0.0) {
        return None;
    }
    let (needed_input_tpm, needed_output_tpm) = (peak_input_tpm, peak_output_tpm);
    let peak_input_tpm = peak_input_tpm.max(RESERVED_MIN_INPUT_TPM);
    let peak_output_tpm = peak_output_tpm.max(RESERVED_MIN_OUTPUT_TPM);
    let monthly_usd = peak_input_tpm / 1_000.0 * price_in + peak_output_tpm / 1_000.0 * price_out;
    let standard_usd_same_tokens =
        (monthly_input * p.input_per_mtok + monthly_output * p.output_per_mtok) / 1e6;
    // A fully used 1K TPM carries 1,000 × 43,800 tokens a month: its Standard price.
    let full_use = |per_mtok: f64| 1_000.0 * MINUTES_PER_MONTH * per_mtok / 1e6;
    let load_factor_input = monthly_input / (peak_input_tpm * MINUTES_PER_MONTH);
    let load_factor_output = monthly_output / (peak_output_tpm * MINUTES_PER_MONTH);
    let ratio = |price: f64, per_mtok: f64| {
        let full = full_use(per_mtok);
        if full > 0.0 {
            price / full
        } else {
            f64::INFINITY
        }
    };
    Some(ReserveDecision {
        input_tpm: peak_input_tpm,
        output_tpm: peak_output_tpm,
        needed_input_tpm,
        needed_output_tpm,
        price_input_per_ktpm_month: price_in,
        price_output_per_ktpm_month: price_out,
        price_source: p
            .reserved_source
            .clone()
            .unwrap_or_else(|| format!("{} ({})", p.source, p.date)),
        monthly_usd,
        standard_usd_same_tokens,
        load_factor_input,
        load_factor_output,
        break_even_load_factor_input: ratio(price_in, p.input_per_mtok),
        break_even_load_factor_output: ratio(price_out, p.output_per_mtok),
        break_even_price_input: load_factor_input * full_use(p.input_per_mtok),
        break_even_price_output: load_factor_output * full_use(p.output_per_mtok),
        break_even_requests_per_month: if standard_usd_same_tokens > 0.0 {
            monthly_requests * monthly_usd / standard_usd_same_tokens
        } else {
            f64::INFINITY
        },
        pays: monthly_usd < standard_usd_same_tokens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sonnet() -> BedrockPrice {
        BedrockPrice {
            input_per_mtok: 3.0,
            output_per_mtok: 15.0,
            batch_input_per_mtok: Some(1.5),
            batch_output_per_mtok: Some(7.5),
            priority_input_per_mtok: Some(5.25),
            priority_output_per_mtok: Some(26.25),
            cache_read_per_mtok: Some(0.3),
            cache_write_per_mtok: Some(3.75),
            reserved_input_per_ktpm_month: Some(31.68),
            reserved_output_per_ktpm_month: Some(158.4),
            ..BedrockPrice::default()
        }
    }

    #[test]
    fn tiers_price_the_same_tokens_at_their_own_rates() {
        let v = TokenVolume {
            input_tokens: 100e6,
            output_tokens: 10e6,
            cache_read_tokens: 50e6,
            cache_write_tokens: 0.0,
        };
        let tiers = on_demand_tiers(&v, None, &sonnet());
        let usd = |t: Tier| tiers.iter().find(|c| c.tier == t).map(|c| c.monthly_usd);
        // 100×3 + 10×15 + 50×0.3 = 465.
        assert!((usd(Tier::Standard).unwrap() - 465.0).abs() < 1e-9);
        // Priority 1.75×: 100×5.25 + 10×26.25 + 50×0.525 = 813.75.
        assert!((usd(Tier::Priority).unwrap() - 813.75).abs() < 1e-9);
        // Batch half of input and output, cache reads scaled alike: 150 + 75 + 7.5.
        assert!((usd(Tier::Batch).unwrap() - 232.5).abs() < 1e-9);
        assert_eq!(usd(Tier::Flex), None, "no Flex price, no Flex row");
    }

    #[test]
    fn a_peak_below_awss_minimum_reservation_is_priced_at_the_minimum() {
        // The case: 41,880 input and 15,360 output TPM needed. Input is raised to the
        // 100,000 minimum, output (above 10,000) stays: 100 × 31.68 + 15.36 × 158.4.
        let r = reserve(&sonnet(), 1e9, 1e8, 41_880.0, 15_360.0, 1e6).unwrap();
        assert_eq!((r.input_tpm, r.output_tpm), (100_000.0, 15_360.0));
        assert_eq!(
            (r.needed_input_tpm, r.needed_output_tpm),
            (41_880.0, 15_360.0)
        );
        assert!((r.monthly_usd - (100.0 * 31.68 + 15.36 * 158.4)).abs() < 1e-9);
        // The load factor is of what is paid for, not of what was needed.
        assert!((r.load_factor_input - 1e9 / (100_000.0 * MINUTES_PER_MONTH)).abs() < 1e-12);
        let small = reserve(&sonnet(), 1e6, 1e5, 10.0, 5.0, 1e3).unwrap();
        assert_eq!((small.input_tpm, small.output_tpm), (100_000.0, 10_000.0));
    }

    #[test]
    fn reserving_pays_only_above_its_load_factor() {
        // 31.68 $ per 1K input TPM-month is 24.1 % of 1K TPM used all month at $3/M
        // (43.8 M tokens = $131.40); 158.4 $ likewise of $657 for output.
        let p = sonnet();
        let peak = (100_000.0, 10_000.0);
        // Used 10 % of the month: does not pay.
        let low = reserve(
            &p,
            0.10 * peak.0 * MINUTES_PER_MONTH,
            0.10 * peak.1 * MINUTES_PER_MONTH,
            peak.0,
            peak.1,
            1e6,
        )
        .unwrap();
        assert!((low.break_even_load_factor_input - 31.68 / 131.4).abs() < 1e-9);
        assert!((low.load_factor_input - 0.10).abs() < 1e-12);
        assert!(!low.pays);
        // The reservation: 100 × 31.68 + 10 × 158.4 = 4,752; Standard for 10 % use:
        // 438 M × 3 + 43.8 M × 15 = 1,971 → break-even at 4,752 / 1,971 × 1e6 requests.
        assert!((low.monthly_usd - 4_752.0).abs() < 1e-9);
        assert!((low.standard_usd_same_tokens - 1_971.0).abs() < 1e-6);
        assert!((low.break_even_requests_per_month - 4_752.0 / 1_971.0 * 1e6).abs() < 1e-3);
        // At this load factor reserving pays below 10 % of the full-use price: $13.14.
        assert!((low.break_even_price_input - 13.14).abs() < 1e-9);
        // Used 40 % of the month: pays.
        let high = reserve(
            &p,
            0.40 * peak.0 * MINUTES_PER_MONTH,
            0.40 * peak.1 * MINUTES_PER_MONTH,
            peak.0,
            peak.1,
            1e6,
        )
        .unwrap();
        assert!(high.pays);
        // No Reserved price: no decision.
        let mut none = p.clone();
        none.reserved_input_per_ktpm_month = None;
        assert_eq!(reserve(&none, 1.0, 1.0, 1.0, 1.0, 1.0), None);
    }
}
