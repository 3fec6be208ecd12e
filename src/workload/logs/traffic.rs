//! Records streamed into totals whose size does not grow with their number: histograms of the
//! lengths (3 significant digits), requests per UTC hour, per-model per-minute totals (at most one
//! entry per minute with traffic), each user's recent request times, and the skipped lines.
//!
//! Memory: histograms are fixed; the minute totals grow with the span (a month is 43,200 minutes
//! per model, at most [`MAX_MODELS`] models); users are tracked up to [`MAX_USERS`], each with
//! at most [`REORDER`] request times held back to put slightly unordered logs (S3 objects and
//! CloudWatch streams interleave) back in order.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use hdrhistogram::Histogram;

use super::error::{Skip, SkipReason};
use super::record::LogRecord;
use crate::bounds::MAX_PROMPT_TOKENS;

/// A user's requests more than this apart are in different sessions.
pub const SESSION_GAP_S: i64 = 30 * 60;
/// Lines named per skip reason.
pub const NAMED_LINES: usize = 5;
/// Distinct models kept apart; the rest are counted together as [`OTHER_MODELS`].
pub const MAX_MODELS: usize = 256;
pub const OTHER_MODELS: &str = "(other models)";
/// Records without a model name.
pub const NO_MODEL: &str = "(model not logged)";
/// Users followed for sessions; requests of users beyond these are counted, not followed.
pub const MAX_USERS: usize = 100_000;
/// Request times held back per user to restore order.
pub const REORDER: usize = 32;

/// One minute of one model's traffic.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MinuteTotals {
    pub requests: u64,
    /// Whole prompts, cached tokens included.
    pub prompt_tokens: f64,
    /// Prompts less the tokens read from the cache.
    pub uncached_input_tokens: f64,
    pub output_tokens: f64,
}

#[derive(Clone, Debug)]
pub struct ModelTraffic {
    pub name: String,
    pub requests: u64,
    /// Minute (seconds since 1970 / 60) → totals, for minutes with traffic.
    pub minutes: BTreeMap<i64, MinuteTotals>,
}

/// Lines skipped for one reason.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Skipped {
    pub count: u64,
    /// (file index, 1-based line) of the first [`NAMED_LINES`].
    pub first: Vec<(usize, u64)>,
    /// What was wrong with the first.
    pub detail: String,
}

#[derive(Clone, Debug, Default)]
struct UserState {
    /// Times not yet processed, earliest first out.
    pending: BinaryHeap<Reverse<i64>>,
    last_s: Option<i64>,
    last_hour: Option<i64>,
}

/// What the users' request times say, once processed in order.
#[derive(Clone, Debug)]
pub struct Sessions {
    /// Gaps between a user's consecutive requests within a session, seconds.
    pub think_gaps: Histogram<u64>,
    pub sessions: u64,
    /// Requests of followed users.
    pub requests: u64,
    /// Gaps between a user's sessions.
    pub between_sum_s: f64,
    pub between_count: u64,
    /// Distinct (user, UTC hour) pairs with a request.
    pub active_user_hours: u64,
    /// Requests earlier than one already processed for the same user (beyond the reorder
    /// window): counted in their session, no gap taken from them.
    pub out_of_order: u64,
}

/// The streaming accumulator.
#[derive(Clone, Debug)]
pub struct Traffic {
    pub files: Vec<String>,
    pub records: u64,
    pub first_s: Option<i64>,
    pub last_s: Option<i64>,
    /// Whole prompts.
    pub prompt: Histogram<u64>,
    pub output: Histogram<u64>,
    /// Cache read + write tokens, over the requests that used the cache.
    pub cache_used: Histogram<u64>,
    /// Whole prompts and outputs of the requests that used the cache, and of those that did
    /// not (partly cached logs are written as two classes).
    pub prompt_cached: Histogram<u64>,
    pub output_cached: Histogram<u64>,
    pub prompt_uncached: Histogram<u64>,
    pub output_uncached: Histogram<u64>,
    pub cache_requests: u64,
    pub prompt_sum: f64,
    pub cache_read_sum: f64,
    pub zero_output: u64,
    pub hourly: [u64; 24],
    pub models: Vec<ModelTraffic>,
    model_index: HashMap<String, usize>,
    users: HashMap<String, UserState>,
    /// Records naming a user beyond [`MAX_USERS`].
    pub unfollowed_user_records: u64,
    pub sessions: Sessions,
    pub skipped: BTreeMap<SkipReason, Skipped>,
}

fn histogram(max: u64) -> Histogram<u64> {
    Histogram::new_with_max(max, 3).expect("3 significant digits up to a constant max ≥ 2 is valid")
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic::new()
    }
}

impl Traffic {
    pub fn new() -> Traffic {
        let tokens = MAX_PROMPT_TOKENS as u64;
        Traffic {
            files: Vec::new(),
            records: 0,
            first_s: None,
            last_s: None,
            prompt: histogram(tokens),
            output: histogram(tokens),
            cache_used: histogram(tokens),
            prompt_cached: histogram(tokens),
            output_cached: histogram(tokens),
            prompt_uncached: histogram(tokens),
            output_uncached: histogram(tokens),
            cache_requests: 0,
            prompt_sum: 0.0,
            cache_read_sum: 0.0,
            zero_output: 0,
            hourly: [0; 24],
            models: Vec::new(),
            model_index: HashMap::new(),
            users: HashMap::new(),
            unfollowed_user_records: 0,
            sessions: Sessions {
                think_gaps: histogram(SESSION_GAP_S as u64),
                sessions: 0,
                requests: 0,
                between_sum_s: 0.0,
                between_count: 0,
                active_user_hours: 0,
                out_of_order: 0,
            },
            skipped: BTreeMap::new(),
        }
    }

    /// A new input file; its index names it in skipped lines.
    pub fn begin_file(&mut self, name: &str) -> usize {
        self.files.push(name.to_string());
        self.files.len() - 1
    }

    /// A line not used, at 1-based `line` of file `file`.
    pub fn skip(&mut self, file: usize, line: u64, skip: Skip) {
        let entry = self.skipped.entry(skip.reason).or_default();
        entry.count += 1;
        if entry.first.len() < NAMED_LINES {
            entry.first.push((file, line));
        }
        if entry.detail.is_empty() {
            entry.detail = skip.detail;
        }
    }

    pub fn skipped_count(&self) -> u64 {
        self.skipped.values().map(|s| s.count).sum()
    }

    /// One record. Token counts were validated by the parser (finite, 0 ..= 2,000,000).
    pub fn add(&mut self, record: &LogRecord) {
        self.records += 1;
        let t = record.time_s;
        self.first_s = Some(self.first_s.map_or(t, |f| f.min(t)));
        self.last_s = Some(self.last_s.map_or(t, |l| l.max(t)));
        let tokens = |v: f64| v.round().max(0.0) as u64;
        self.prompt.saturating_record(tokens(record.prompt_tokens));
        self.output.saturating_record(tokens(record.output_tokens));
        let cached = record.cache_read_tokens + record.cache_write_tokens;
        if cached > 0.0 {
            self.cache_requests += 1;
            self.cache_used.saturating_record(tokens(cached));
            self.prompt_cached
                .saturating_record(tokens(record.prompt_tokens));
            self.output_cached
                .saturating_record(tokens(record.output_tokens));
        } else {
            self.prompt_uncached
                .saturating_record(tokens(record.prompt_tokens));
            self.output_uncached
                .saturating_record(tokens(record.output_tokens));
        }
        self.prompt_sum += record.prompt_tokens;
        self.cache_read_sum += record.cache_read_tokens;
        if record.output_tokens == 0.0 {
            self.zero_output += 1;
        }
        self.hourly[t.rem_euclid(86_400) as usize / 3_600] += 1;

        let model = self.model(record.model.as_deref().unwrap_or(NO_MODEL));
        let model = &mut self.models[model];
        model.requests += 1;
        let minute = model.minutes.entry(t.div_euclid(60)).or_default();
        minute.requests += 1;
        minute.prompt_tokens += record.prompt_tokens;
        minute.uncached_input_tokens += (record.prompt_tokens - record.cache_read_tokens).max(0.0);
        minute.output_tokens += record.output_tokens;

        if let Some(user) = &record.user {
            self.user_request(user, t);
        }
    }

    fn model(&mut self, name: &str) -> usize {
        if let Some(&i) = self.model_index.get(name) {
            return i;
        }
        let name = if self.models.len() >= MAX_MODELS {
            OTHER_MODELS
        } else {
            name
        };
        if let Some(&i) = self.model_index.get(name) {
            return i;
        }
        self.models.push(ModelTraffic {
            name: name.to_string(),
            requests: 0,
            minutes: BTreeMap::new(),
        });
        self.model_index
            .insert(name.to_string(), self.models.len() - 1);
        self.models.len() - 1
    }

    fn user_request(&mut self, user: &str, t: i64) {
        if !self.users.contains_key(user) && self.users.len() >= MAX_USERS {
            self.unfollowed_user_records += 1;
            return;
        }
        let state = self.users.entry(user.to_string()).or_default();
        state.pending.push(Reverse(t));
        if state.pending.len() > REORDER {
            if let Some(Reverse(earliest)) = state.pending.pop() {
                process(&mut self.sessions, state, earliest);
            }
        }
    }

    /// Users followed.
    pub fn users(&self) -> usize {
        self.users.len()
    }

    /// Processes every request time still held back; call once, after the last record.
    pub fn finish_users(&mut self) {
        for state in self.users.values_mut() {
            while let Some(Reverse(t)) = state.pending.pop() {
                process(&mut self.sessions, state, t);
            }
        }
    }
}

/// The next request of a user, in time order (or counted out of order).
fn process(sessions: &mut Sessions, state: &mut UserState, t: i64) {
    sessions.requests += 1;
    let hour = t.div_euclid(3_600);
    match state.last_s {
        None => sessions.sessions += 1,
        Some(last) if t < last => {
            sessions.out_of_order += 1;
            return;
        }
        Some(last) if t - last > SESSION_GAP_S => {
            sessions.sessions += 1;
            sessions.between_sum_s += (t - last) as f64;
            sessions.between_count += 1;
        }
        Some(last) => sessions.think_gaps.saturating_record((t - last) as u64),
    }
    if state.last_hour != Some(hour) {
        sessions.active_user_hours += 1;
        state.last_hour = Some(hour);
    }
    state.last_s = Some(t);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(time_s: i64, prompt: f64, output: f64, user: Option<&str>) -> LogRecord {
        LogRecord {
            time_s,
            prompt_tokens: prompt,
            output_tokens: output,
            cache_read_tokens: 0.0,
            cache_write_tokens: 0.0,
            model: Some("m".into()),
            user: user.map(String::from),
        }
    }

    #[test]
    fn sessions_are_split_at_thirty_minutes_even_when_times_arrive_shuffled() {
        // One user: a session of 3 requests 10 s and 50 s apart, an hour's pause, a session of
        // 2 requests 20 s apart. Fed in reverse order (within the reorder window).
        let t0 = 1_796_040_000;
        let times = [t0, t0 + 10, t0 + 60, t0 + 3_660, t0 + 3_680];
        let mut traffic = Traffic::new();
        for &t in times.iter().rev() {
            traffic.add(&record(t, 100.0, 10.0, Some("alice")));
        }
        traffic.finish_users();
        let s = &traffic.sessions;
        assert_eq!((s.sessions, s.requests, s.out_of_order), (2, 5, 0));
        assert_eq!(s.think_gaps.len(), 3);
        assert_eq!(
            (s.think_gaps.min(), s.think_gaps.max()),
            (10, 50),
            "gaps 10, 50, 20"
        );
        assert_eq!(s.between_sum_s, 3_600.0);
        // Hours touched: t0's hour (t0 is on the hour) and the next.
        assert_eq!(s.active_user_hours, 2);
    }

    #[test]
    fn minutes_hours_and_skips_are_totalled() {
        let mut traffic = Traffic::new();
        let file = traffic.begin_file("a.jsonl");
        let t0 = 1_796_040_000; // 12:00 UTC
        traffic.add(&record(t0, 100.0, 10.0, None));
        traffic.add(&record(t0 + 59, 200.0, 0.0, None));
        traffic.add(&record(t0 + 60, 300.0, 30.0, None));
        for line in 1..=7 {
            traffic.skip(file, line, Skip::new(SkipReason::NotJson, "x"));
        }
        let minutes: Vec<(i64, u64, f64)> = traffic.models[0]
            .minutes
            .iter()
            .map(|(&m, t)| (m - t0 / 60, t.requests, t.prompt_tokens + t.output_tokens))
            .collect();
        assert_eq!(minutes, vec![(0, 2, 310.0), (1, 1, 330.0)]);
        assert_eq!(traffic.hourly[12], 3);
        assert_eq!(traffic.zero_output, 1);
        let skipped = &traffic.skipped[&SkipReason::NotJson];
        assert_eq!(skipped.count, 7);
        assert_eq!(skipped.first, vec![(0, 1), (0, 2), (0, 3), (0, 4), (0, 5)]);
    }
}
