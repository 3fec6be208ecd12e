//! A level's output tokens/s: what the endpoint delivered while the level held its
//! concurrency. The time is the union of the intervals in which the level's measured requests
//! were in flight (so the gaps between the visits of an interleaved run, `--passes`, do not
//! count); the tokens are every token of the level's successful requests — warm-up and
//! cool-down ones included — that arrived inside that time, each content chunk carrying an equal
//! share of its request's output tokens (a request with no chunk times delivers them at its end).
//!
//! Counting only the measured requests' own tokens over their first send to last end is biased
//! whenever a level is short next to its concurrency: at c = 16 with 12 measured requests the
//! window ends with whichever measured request the server happened to serve last, while the
//! warm-up and cool-down requests that shared the server go uncounted.

use super::record::RequestRecord;

/// Chunk times within this of an interval's end still count (offsets are written to 0.1 ms).
const EDGE_S: f64 = 5e-4;

/// Output tokens/s delivered while `measured` were in flight, counting the tokens of every
/// request in `all` (the level's records, any phase). `None` when nothing was delivered or the
/// measured requests took no time.
pub fn delivered_tokens_per_s(measured: &[&RequestRecord], all: &[&RequestRecord]) -> Option<f64> {
    let busy = union(
        measured
            .iter()
            .map(|r| (r.sent_s, r.sent_s + r.e2e_s))
            .filter(|(a, b)| a.is_finite() && b.is_finite() && b > a),
    );
    let length: f64 = busy.iter().map(|(a, b)| b - a).sum();
    if length <= 0.0 {
        return None;
    }
    let mut tokens = 0.0;
    for r in all.iter().filter(|r| r.is_ok() && r.output_tokens > 0) {
        let offsets = r.chunk_offsets();
        if offsets.is_empty() {
            if inside(&busy, r.sent_s + r.e2e_s) {
                tokens += r.output_tokens as f64;
            }
        } else {
            let each = r.output_tokens as f64 / offsets.len() as f64;
            let arrived = offsets
                .iter()
                .filter(|&&o| inside(&busy, r.sent_s + o))
                .count();
            tokens += each * arrived as f64;
        }
    }
    (tokens > 0.0).then(|| tokens / length)
}

/// The union of closed intervals, sorted and disjoint.
fn union(intervals: impl Iterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    let mut sorted: Vec<(f64, f64)> = intervals.collect();
    sorted.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut merged: Vec<(f64, f64)> = Vec::with_capacity(sorted.len());
    for (a, b) in sorted {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

/// `t` lies in one of the sorted, disjoint `intervals` (ends widened by `EDGE_S`).
fn inside(intervals: &[(f64, f64)], t: f64) -> bool {
    let after = intervals.partition_point(|&(a, _)| a <= t);
    after > 0 && t <= intervals[after - 1].1 + EDGE_S
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A successful request sent at `sent` whose `tokens` arrive one a chunk, the first after
    /// `ttft`, then one every `gap` seconds.
    fn request(sent: f64, ttft: f64, gap: f64, tokens: u64, cooldown: bool) -> RequestRecord {
        let offsets: Vec<String> = (0..tokens)
            .map(|i| format!("{:.4}", ttft + gap * i as f64))
            .collect();
        RequestRecord {
            request_id: 0,
            level: 0,
            concurrency: 1,
            prompt_tokens_target: 32,
            output_tokens_target: tokens as u32,
            warmup: false,
            cooldown,
            scheduled_s: sent,
            sent_s: sent,
            first_token_s: Some(sent + ttft),
            last_token_s: Some(sent + ttft + gap * (tokens - 1) as f64),
            ttft_s: Some(ttft),
            tpot_s: Some(gap),
            itl_mean_s: Some(gap),
            itl_p99_s: Some(gap),
            e2e_s: ttft + gap * (tokens - 1) as f64,
            ntpot_s: None,
            input_tokens: 32,
            output_tokens: tokens,
            tokens_source: "server".into(),
            input_tokens_estimate: 32,
            chunks: tokens,
            early_stop: false,
            concurrency_at_send: 1,
            status: "ok".into(),
            error: String::new(),
            attempts: 1,
            chunk_offsets_s: offsets.join(";"),
            cached_tokens: None,
        }
    }

    fn rate(records: &[RequestRecord]) -> Option<f64> {
        let all: Vec<&RequestRecord> = records.iter().collect();
        let measured: Vec<&RequestRecord> = records.iter().filter(|r| r.is_measured()).collect();
        delivered_tokens_per_s(&measured, &all)
    }

    #[test]
    fn the_gap_between_two_visits_is_not_counted() {
        // c = 1, two visits of two back-to-back requests, 100 s apart: each request takes
        // 0.1 + 9 × 0.1 = 1 s for 10 tokens, so 40 tokens in 4 s of service.
        let records = [
            request(0.0, 0.1, 0.1, 10, false),
            request(1.0, 0.1, 0.1, 10, false),
            request(100.0, 0.1, 0.1, 10, false),
            request(101.0, 0.1, 0.1, 10, false),
        ];
        let got = rate(&records).unwrap();
        assert!((got - 10.0).abs() < 1e-9, "{got}");
    }

    #[test]
    fn cool_down_tokens_inside_the_measured_time_count_and_later_ones_do_not() {
        // c = 2: a measured request from 0 to 1 s (10 tokens at 0.1, 0.2 … 1.0) and a cool-down
        // sent at 0.5 s whose tokens arrive at 0.55, 0.65 … 1.45: five of them (0.55 … 0.95)
        // arrive while the measured one is in flight. 15 tokens in 1 s.
        let records = [
            request(0.0, 0.1, 0.1, 10, false),
            request(0.5, 0.05, 0.1, 10, true),
        ];
        let got = rate(&records).unwrap();
        assert!((got - 15.0).abs() < 1e-9, "{got}");
    }

    #[test]
    fn a_request_without_chunk_times_delivers_at_its_end() {
        let mut late = request(0.0, 0.1, 0.1, 10, true);
        late.chunk_offsets_s = String::new();
        late.e2e_s = 2.0;
        let mut early = late.clone();
        early.e2e_s = 0.5;
        let measured = request(0.0, 0.1, 0.1, 10, false);
        assert_eq!(rate(&[measured.clone(), late]), Some(10.0));
        assert_eq!(rate(&[measured, early]), Some(20.0));
    }

    #[test]
    fn nothing_delivered_is_none() {
        let mut failed = request(0.0, 0.1, 0.1, 10, false);
        failed.status = "throttled".into();
        assert_eq!(rate(&[failed]), None);
        assert_eq!(rate(&[]), None);
    }

    #[test]
    fn overlapping_intervals_merge() {
        assert_eq!(
            union([(2.0, 3.0), (0.0, 1.0), (0.5, 1.5), (3.0, 4.0)].into_iter()),
            vec![(0.0, 1.5), (2.0, 4.0)]
        );
        let busy = [(0.0, 1.5), (2.0, 4.0)];
        assert!(inside(&busy, 0.0) && inside(&busy, 1.5) && inside(&busy, 3.0));
        assert!(!inside(&busy, -0.1) && !inside(&busy, 1.7) && !inside(&busy, 4.1));
    }
}
