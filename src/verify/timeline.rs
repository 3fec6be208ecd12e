//! Requests in flight over a population's run, from its records: each request is in flight
//! from its send to its last byte. Pure.

use crate::calibrate::record::RequestRecord;

/// The time-average requests in flight in each whole second of `0..span_s` on the
/// population's clock, as (the second's middle, requests).
pub fn in_flight_each_second(records: &[RequestRecord], span_s: f64) -> Vec<(f64, f64)> {
    let seconds = span_s.clamp(0.0, 1e6).ceil() as usize;
    let mut busy = vec![0.0; seconds];
    for r in records {
        let (from, to) = (r.sent_s.max(0.0), (r.sent_s + r.e2e_s).min(seconds as f64));
        if !(to > from) {
            continue;
        }
        let (first, last) = (from.floor() as usize, (to.ceil() as usize).min(seconds));
        for (k, b) in busy.iter_mut().enumerate().take(last).skip(first) {
            let (lo, hi) = (k as f64, k as f64 + 1.0);
            *b += (to.min(hi) - from.max(lo)).max(0.0);
        }
    }
    busy.into_iter()
        .enumerate()
        .map(|(k, b)| (k as f64 + 0.5, b))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sent_s: f64, e2e_s: f64) -> RequestRecord {
        let line = format!(
            "request_id,level,concurrency,prompt_tokens_target,output_tokens_target,warmup,scheduled_s,sent_s,first_token_s,last_token_s,ttft_s,tpot_s,itl_mean_s,itl_p99_s,e2e_s,ntpot_s,input_tokens,output_tokens,tokens_source,input_tokens_estimate,chunks,early_stop,concurrency_at_send,status,error,attempts,chunk_offsets_s\n1,0,1,10,10,false,{sent_s},{sent_s},,,,,,,{e2e_s},,10,10,server,10,0,false,0,ok,,1,\n"
        );
        csv::Reader::from_reader(line.as_bytes())
            .deserialize()
            .next()
            .unwrap()
            .unwrap()
    }

    /// Against the areas by hand: a request from 0.5 s to 2.5 s is in flight half of the first
    /// second, all the second and half the third; one past the span counts up to its end.
    #[test]
    fn each_second_counts_the_time_requests_were_in_flight() {
        let t = in_flight_each_second(&[record(0.5, 2.0), record(1.0, 10.0)], 3.0);
        assert_eq!(t.len(), 3);
        let near = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(near(t[0].1, 0.5), "{t:?}");
        assert!(near(t[1].1, 2.0), "{t:?}");
        assert!(near(t[2].1, 1.5), "{t:?}");
        assert!(near(t[2].0, 2.5));
        // The mean over the span is the records' time in flight within it over its length.
        let mean = t.iter().map(|p| p.1).sum::<f64>() / 3.0;
        assert!(near(mean, (2.0 + 2.0) / 3.0));
    }
}
