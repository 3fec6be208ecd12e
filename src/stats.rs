//! The one percentile definition llmcap uses, for measured data (calibration records, level
//! summaries, reports) and simulated data (the simulator's histograms) alike.
//!
//! **Nearest rank.** The `q` quantile of a sample of `n` values is the smallest value with at
//! least `q·n` of the sample at or below it: sort the sample and take the value at 1-based rank
//! `⌈q·n⌉`, at least 1. So `q = 0` gives the minimum, `q = 1` the maximum, and every quantile is
//! a value that was observed (no interpolation between neighbours). `q` outside `[0, 1]` is
//! clamped. An empty sample has no quantile: the functions here return `None` and each caller
//! says what it shows instead.
//!
//! `q·n` is computed in `f64` exactly as hdrhistogram computes it, so the two agree even where
//! the product rounds up past an integer (0.07 × 100 is 7.000000000000001 in `f64`, so p7 of 100
//! values is the 8th smallest, in both).
//!
//! **Histograms.** The simulator keeps its latencies in hdrhistograms so memory does not grow with
//! the number of requests. [`Histogram::value_at_quantile`] is the same nearest-rank definition at
//! the histogram's resolution: it walks the buckets until the running count reaches `⌈q·n⌉` (at
//! least 1) and returns the highest value equivalent to that bucket (the lowest for `q = 0`).
//! With `d` significant digits that is within a relative `10^-d` above the exact sample quantile.
//! [`histogram_quantile`] is the one place the simulator asks a histogram for a quantile.

use hdrhistogram::Histogram;

/// 1-based nearest rank of the `q` quantile in `n` values (`n ≥ 1`).
fn rank(q: f64, n: usize) -> usize {
    let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
    ((q * n as f64).ceil() as usize).clamp(1, n)
}

/// The `q` quantile of values sorted ascending; `None` when empty.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    debug_assert!(
        sorted.windows(2).all(|w| w[0].total_cmp(&w[1]).is_le()),
        "quantile_sorted needs ascending values"
    );
    if sorted.is_empty() {
        return None;
    }
    Some(sorted[rank(q, sorted.len()) - 1])
}

/// The `q` quantile of `sorted` (ascending, every value ≥ 0) together with `zeros` more values
/// of 0, without materialising them: a per-minute figure over every minute of a span, the quiet
/// minutes counted as 0. `None` when there are no values at all.
pub fn quantile_sorted_with_zeros(sorted: &[f64], zeros: usize, q: f64) -> Option<f64> {
    debug_assert!(sorted.first().is_none_or(|&v| v >= 0.0));
    let n = sorted.len().checked_add(zeros)?;
    if n == 0 {
        return None;
    }
    let r = rank(q, n);
    Some(if r <= zeros {
        0.0
    } else {
        sorted[r - zeros - 1]
    })
}

/// Sorts `values` ascending in place (NaN last) and returns their `q` quantile; `None` when
/// empty.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    quantile_sorted(values, q)
}

/// A 90 % interval (5th and 95th percentiles over `draws` resamples) for the `q` quantile of a
/// series whose neighbouring values are correlated (per-minute traffic: a user's session spans
/// minutes): the moving-block bootstrap, resampling whole blocks of `block` consecutive values
/// with replacement. `None` when the series is shorter than two blocks.
pub fn block_bootstrap_interval(
    values: &[f64],
    q: f64,
    block: usize,
    draws: usize,
    seed: u64,
) -> Option<(f64, f64)> {
    use rand::{Rng, SeedableRng};
    let block = block.max(1);
    let n = values.len();
    if n < 2 * block || draws == 0 {
        return None;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let starts = n - block + 1;
    let mut estimates = Vec::with_capacity(draws);
    let mut sample = Vec::with_capacity(n);
    for _ in 0..draws {
        sample.clear();
        while sample.len() < n {
            let s = rng.random_range(0..starts);
            let take = block.min(n - sample.len());
            sample.extend_from_slice(&values[s..s + take]);
        }
        estimates.push(quantile(&mut sample, q)?);
    }
    estimates.sort_by(f64::total_cmp);
    Some((
        quantile_sorted(&estimates, 0.05)?,
        quantile_sorted(&estimates, 0.95)?,
    ))
}

/// The `q` quantile of the values recorded in a histogram, in its units; `None` when empty.
pub fn histogram_quantile(histogram: &Histogram<u64>, q: f64) -> Option<u64> {
    if histogram.is_empty() {
        return None;
    }
    let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
    Some(histogram.value_at_quantile(q))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_bootstrap_covers_the_true_p99_of_independent_minutes_about_nine_times_in_ten() {
        // Exponential minutes (p99 = ln 100): over 200 series of 600 minutes the 90 % interval
        // should contain the true value close to 90 % of the time (block 1: independent).
        use rand::{Rng, SeedableRng};
        let truth = 100f64.ln();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut covered = 0;
        for i in 0..200 {
            let v: Vec<f64> = (0..600)
                .map(|_| -(1.0 - rng.random::<f64>()).ln())
                .collect();
            let (lo, hi) = block_bootstrap_interval(&v, 0.99, 1, 400, i).unwrap();
            assert!(lo <= hi);
            covered += usize::from(lo <= truth && truth <= hi);
        }
        assert!((160..=196).contains(&covered), "covered {covered} of 200");
        assert!(block_bootstrap_interval(&[1.0; 10], 0.99, 6, 10, 1).is_none());
    }
    use rand::{Rng, SeedableRng};

    /// The definition read literally: the smallest observed value `v` with
    /// `#{x ≤ v} ≥ q·n`, by counting.
    fn brute_force(sample: &[f64], q: f64) -> f64 {
        let n = sample.len() as f64;
        sample
            .iter()
            .copied()
            .filter(|&v| sample.iter().filter(|&&x| x <= v).count() as f64 >= q * n)
            .fold(f64::INFINITY, f64::min)
    }

    const QS: [f64; 12] = [
        0.0, 0.01, 0.07, 0.25, 0.3, 0.5, 0.9, 0.95, 0.99, 0.999, 0.9999, 1.0,
    ];

    #[test]
    fn worked_by_hand() {
        // n = 5 (order given shuffled): p5 → rank ⌈0.25⌉ = 1 → 15; p30 → ⌈1.5⌉ = 2 → 20;
        // p40 → ⌈2.0⌉ = 2 → 20; p50 → ⌈2.5⌉ = 3 → 35; p80 → ⌈4.0⌉ = 4 → 40; p100 → 50.
        let mut sample = [50.0, 15.0, 40.0, 20.0, 35.0];
        for (q, expected) in [
            (0.0, 15.0),
            (0.05, 15.0),
            (0.3, 20.0),
            (0.4, 20.0),
            (0.5, 35.0),
            (0.8, 40.0),
            (0.81, 50.0),
            (1.0, 50.0),
        ] {
            assert_eq!(quantile(&mut sample, q), Some(expected), "q = {q}");
        }
        // Out-of-range q is clamped; an empty sample has no quantile.
        assert_eq!(quantile(&mut sample, -1.0), Some(15.0));
        assert_eq!(quantile(&mut sample, 2.0), Some(50.0));
        assert_eq!(quantile(&mut [], 0.5), None);
        // One value is every quantile.
        assert_eq!(quantile_sorted(&[7.0], 0.0), Some(7.0));
        assert_eq!(quantile_sorted(&[7.0], 0.99), Some(7.0));
    }

    #[test]
    fn matches_counting_on_random_samples() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for _ in 0..300 {
            let n = rng.random_range(1..=120);
            // Few distinct values, so ties are common.
            let sample: Vec<f64> = (0..n)
                .map(|_| f64::from(rng.random_range(0..40_u32)) * 0.5)
                .collect();
            let mut sorted = sample.clone();
            for q in QS.into_iter().chain((0..5).map(|_| rng.random::<f64>())) {
                assert_eq!(
                    quantile(&mut sorted, q),
                    Some(brute_force(&sample, q)),
                    "q = {q}, sample {sample:?}"
                );
            }
        }
    }

    #[test]
    fn quiet_values_counted_as_zeros_agree_with_the_whole_sample() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for _ in 0..300 {
            let n = rng.random_range(0..=60);
            let zeros = rng.random_range(0..=60);
            let mut busy: Vec<f64> = (0..n)
                .map(|_| f64::from(rng.random_range(1..30_u32)))
                .collect();
            busy.sort_by(f64::total_cmp);
            let mut all: Vec<f64> = busy.iter().copied().chain(vec![0.0; zeros]).collect();
            for q in QS.into_iter().chain((0..5).map(|_| rng.random::<f64>())) {
                assert_eq!(
                    quantile_sorted_with_zeros(&busy, zeros, q),
                    quantile(&mut all, q),
                    "q = {q}, {zeros} zeros, {busy:?}"
                );
            }
        }
    }

    #[test]
    fn a_histogram_of_the_sample_agrees_within_its_precision() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        for digits in [2_u8, 3] {
            for _ in 0..100 {
                let n = rng.random_range(1..=2_000);
                // Latencies in microseconds, 1 ms to about 20 s, heavy-tailed.
                let sample: Vec<u64> = (0..n)
                    .map(|_| (1_000.0 * (rng.random::<f64>() * 10.0).exp()) as u64)
                    .collect();
                let mut histogram =
                    Histogram::<u64>::new_with_bounds(1, 24 * 3_600 * 1_000_000, digits).unwrap();
                for &v in &sample {
                    histogram.record(v).unwrap();
                }
                let mut values: Vec<f64> = sample.iter().map(|&v| v as f64).collect();
                for q in QS {
                    let exact = quantile(&mut values, q).unwrap() as u64;
                    let binned = histogram_quantile(&histogram, q).unwrap();
                    assert!(
                        histogram.equivalent(binned, exact),
                        "q = {q}, {digits} digits: histogram {binned}, sample {exact}"
                    );
                    let relative = (binned as f64 - exact as f64).abs() / exact as f64;
                    assert!(relative <= 10f64.powi(-i32::from(digits)), "{relative}");
                }
            }
        }
        let empty = Histogram::<u64>::new(2).unwrap();
        assert_eq!(histogram_quantile(&empty, 0.5), None);
    }
}
