//! calibrate end to end against a fixed-latency OpenAI-compatible server: accounting, files,
//! throttles, and an interrupted run finished by --resume.

mod support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use assert_cmd::cargo::CommandCargoExt;
use support::{level_rates, manifest, parquet_rows, records, ServerThread};

fn calibrate(url: &str, out: &std::path::Path) -> Command {
    let mut command = Command::cargo_bin("llmcap").unwrap();
    command.args([
        "calibrate",
        "--target",
        "openai",
        "--url",
        url,
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
    ]);
    command
}

#[test]
fn a_complete_run_accounts_for_every_request_and_writes_every_file() {
    let server = ServerThread::start(20, 4, None);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let output = calibrate(&server.url, &out)
        .args(["--concurrency", "1,4", "--prompt-tokens", "32,256"])
        .args([
            "--output-tokens",
            "16",
            "--requests-per-level",
            "6",
            "--warmup",
            "1",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "calibrate failed: {stderr}");

    let m = manifest(&out);
    assert_eq!(m.status, "complete");
    assert_eq!(m.target, "openai");
    assert_eq!(m.model_id, "fixed-latency");
    let rows = records(&out);
    let measured = rows.iter().filter(|r| r.is_measured()).count();
    let warmup = rows.iter().filter(|r| r.warmup).count();
    assert_eq!(
        (measured, warmup),
        (4 * 6, 4),
        "4 levels × (6 measured + 1 warm-up)"
    );
    assert!(
        rows.iter().all(|r| r.concurrency > 1 || !r.cooldown),
        "no cool-down at c=1"
    );
    assert_eq!(m.counts.sent, rows.len() as u64);
    assert_eq!(m.counts.sent, m.counts.ok + m.counts.failed);
    assert_eq!(m.counts.failed, 0);
    let ids: HashSet<u64> = rows.iter().map(|r| r.request_id).collect();
    assert_eq!(ids.len(), rows.len(), "request ids are unique");
    // The server sends token i at (received + 20 ms + 4 ms·i), on absolute due times: a first
    // token delivered late lets the rest catch up, so one request's TPOT has no lower bound,
    // but no request can see its first token before 20 ms or its last before 20 + 15·4 ms.
    for r in &rows {
        assert_eq!(r.output_tokens, 16);
        assert_eq!(r.tokens_source, "server");
        let ttft = r.ttft_s.unwrap();
        let tpot = r.tpot_s.unwrap();
        assert!((0.020..0.5).contains(&ttft), "ttft {ttft}");
        assert!(r.e2e_s >= 0.080, "e2e {} s < 80 ms", r.e2e_s);
        assert!(tpot < 0.1, "tpot {tpot}");
        assert!(r.concurrency_at_send >= 1 && r.concurrency_at_send <= r.concurrency);
    }
    let mut tpots: Vec<f64> = rows.iter().filter_map(|r| r.tpot_s).collect();
    tpots.sort_by(f64::total_cmp);
    let median = tpots[tpots.len() / 2];
    assert!((0.0035..0.02).contains(&median), "median tpot {median}");
    assert_eq!(parquet_rows(&out.join("requests.parquet")), rows.len());
    assert_eq!(parquet_rows(&out.join("levels.parquet")), 4);
    let levels = std::fs::read_to_string(out.join("levels.csv")).unwrap();
    assert_eq!(levels.lines().count(), 5, "header + 4 levels");
    assert!(out.join("profile.toml").exists(), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("TTFT ms"), "level table printed: {stdout}");
    let text = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(!text.to_lowercase().contains("authorization"));
}

#[test]
fn throttles_are_recorded_as_throttles() {
    let server = ServerThread::start(5, 1, Some(4));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let output = calibrate(&server.url, &out)
        .args([
            "--concurrency",
            "2",
            "--prompt-tokens",
            "32",
            "--output-tokens",
            "4",
        ])
        .args(["--requests-per-level", "20", "--warmup", "0", "--no-fit"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows = records(&out);
    let throttled = rows.iter().filter(|r| r.status == "throttled").count();
    // Every 4th request the server sees is a 429; the two prompt-sizing probes are among them.
    assert!(throttled >= 4, "{throttled} throttled");
    assert!(rows
        .iter()
        .filter(|r| r.status != "ok")
        .all(|r| r.status == "throttled" && r.error.contains("429")));
    let m = manifest(&out);
    assert_eq!(m.counts.throttled, throttled as u64);
    assert_eq!(m.counts.sent, m.counts.ok + m.counts.failed);
}

#[test]
fn an_interrupted_run_keeps_its_requests_and_resume_finishes_it() {
    // 40 ms to the first token, 10 ms per token: each request takes about 0.35 s.
    let server = ServerThread::start(40, 10, None);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let sweep = [
        "--concurrency",
        "2,4",
        "--prompt-tokens",
        "32",
        "--output-tokens",
        "32",
        "--requests-per-level",
        "12",
        "--warmup",
        "1",
        "--grace",
        "10",
    ];
    let mut child = calibrate(&server.url, &out)
        .args(sweep)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Interrupt once the first level has finished, i.e. mid-way through the second.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "calibrate ended early: {log}"
        );
        log.push_str(&line);
        if line.starts_with("level 1/") {
            break;
        }
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "an interrupted run exits non-zero: {rest}"
    );
    assert!(rest.contains("--resume"), "tells how to finish: {rest}");

    let partial = manifest(&out);
    assert_eq!(partial.status, "partial");
    assert!(partial.stop_reason.unwrap().contains("interrupted"));
    let first = records(&out);
    let in_level = |rows: &[llmcap::calibrate::record::RequestRecord], level: u32| {
        rows.iter()
            .filter(|r| r.level == level && r.is_measured())
            .count()
    };
    assert_eq!(in_level(&first, 0), 12, "level 1 is all there");
    assert!(in_level(&first, 1) < 12, "the second level was cut short");
    assert_eq!(partial.counts.sent, first.len() as u64);
    assert_eq!(parquet_rows(&out.join("requests.parquet")), first.len());
    assert!(
        first.iter().all(|r| r.is_ok()),
        "in-flight requests finished in the grace period"
    );

    let resumed = calibrate(&server.url, &out)
        .arg("--resume")
        .output()
        .unwrap();
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let complete = manifest(&out);
    assert_eq!(complete.status, "complete");
    assert_eq!(complete.sessions, 2);
    assert!(partial.prompt_nonce.is_some());
    assert_eq!(
        complete.prompt_nonce, partial.prompt_nonce,
        "--resume keeps the run's prompt nonce"
    );
    let all = records(&out);
    assert_eq!(
        &all[..first.len()],
        &first[..],
        "finished requests are kept as they were"
    );
    let ids: HashSet<u64> = all.iter().map(|r| r.request_id).collect();
    assert_eq!(ids.len(), all.len(), "nothing sent twice under one id");
    for level in 0..2 {
        assert_eq!(
            in_level(&all, level),
            12,
            "level {level} has exactly its requests"
        );
    }
    assert_eq!(complete.counts.sent, all.len() as u64);
}

#[test]
fn a_run_where_every_request_fails_is_failed_not_complete() {
    // Every request is a 429; 4 per level stay under the error-rate guard's 10-request floor,
    // and --max-error-rate 1 would never fire anyway: the sweep runs to its end.
    let server = ServerThread::start(5, 1, Some(1));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let output = calibrate(&server.url, &out)
        .args(["--concurrency", "1,2", "--prompt-tokens", "32"])
        .args(["--output-tokens", "4", "--requests-per-level", "4"])
        .args(["--warmup", "0", "--max-error-rate", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("2 of 2 levels have too few successful requests")
            && stderr.contains("0 of 4 succeeded")
            && stderr.contains("throttled"),
        "{stderr}"
    );
    let m = manifest(&out);
    assert_eq!(m.status, "failed");
    assert!(m.stop_reason.unwrap().contains("c=2 prompt=32 out=4"));
    // 2 levels × 4 measured requests (c=2 may add cool-down requests while one is pending).
    let measured = records(&out).iter().filter(|r| r.is_measured()).count();
    assert_eq!((measured, m.counts.ok), (8, 0));
    assert_eq!(m.counts.sent, m.counts.failed);
    assert!(!out.join("profile.toml").exists());
    // Nothing left to resume.
    let resumed = calibrate(&server.url, &out)
        .arg("--resume")
        .output()
        .unwrap();
    assert_eq!(resumed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("new --out"));
}

/// `--auto` against a server with 6 slots (requests beyond wait for one): concurrency doubles
/// until output tokens/s stops growing, which a 6-slot server shows once every doubling past 6
/// adds nothing; the knee brackets 6, the sweep measures inside the brackets (6 itself) and past
/// the knee, at least five levels, runs the other prompt sizes at 1, near the knee and
/// saturated, records the knee, and refuses --resume.
#[test]
fn auto_finds_the_slot_limit_and_measures_around_it() {
    let server = ServerThread::start_with_slots(30, 5, 6);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("auto");
    let output = calibrate(&server.url, &out)
        .args(["--auto", "--auto-max-concurrency", "32"])
        .args(["--prompt-tokens", "32,128,256", "--output-tokens", "12"])
        .args(["--requests-per-level", "12", "--warmup", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stderr}{stdout}");
    assert!(output.status.success(), "calibrate failed: {stderr}");
    let m = manifest(&out);
    assert_eq!(m.status, "complete", "{stderr}");
    let knee = m.knee.clone().expect("a 6-slot server saturates");
    assert!(knee.below < 6 && knee.at > 6, "{knee:?}; {stdout}");
    // Doublings 1, 2, 4, 8, 16 and the midpoints of the knee's brackets: 6 is measured.
    assert!(stdout.contains("knee: saturated between"), "{stdout}");

    let rows = records(&out);
    let levels = |prompt: u32| -> Vec<u32> {
        let mut c: Vec<u32> = rows
            .iter()
            .filter(|r| r.is_measured() && r.prompt_tokens_target == prompt)
            .map(|r| r.concurrency)
            .collect();
        c.sort_unstable();
        c.dedup();
        c
    };
    let middle = levels(128);
    assert!(middle.len() >= 5, "{middle:?}");
    assert!(middle.contains(&6), "{middle:?}");
    assert!(
        middle.iter().any(|&c| c > knee.at),
        "past the knee: {middle:?}"
    );
    for prompt in [32, 256] {
        assert_eq!(
            levels(prompt),
            vec![1, knee.near, knee.at],
            "prompt {prompt}"
        );
    }
    assert!(rows.iter().all(|r| r.output_tokens_target == 12));

    // As if it had been interrupted: an auto run's levels depend on what it measured, so
    // --resume refuses and names the levels to measure instead.
    let path = out.join("manifest.json");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"status\": \"complete\""));
    std::fs::write(
        &path,
        text.replace("\"status\": \"complete\"", "\"status\": \"partial\""),
    )
    .unwrap();
    let resume = calibrate(&server.url, &out)
        .arg("--resume")
        .output()
        .unwrap();
    let why = String::from_utf8_lossy(&resume.stderr);
    assert!(!resume.status.success());
    assert!(
        why.contains("cannot be resumed") && why.contains("--concurrency"),
        "{why}"
    );
}

/// `--passes 3`: each level's 7 measured requests are split 3 + 2 + 2 over three passes, each
/// pass with its own warm-up, and the levels take turns (0, 1 | 1, 0 | 0, 1) instead of running
/// one after the other.
#[test]
fn passes_interleave_the_levels_and_split_their_requests() {
    let server = ServerThread::start(5, 1, None);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let output = calibrate(&server.url, &out)
        .args(["--concurrency", "1,2", "--prompt-tokens", "32"])
        .args(["--output-tokens", "4", "--requests-per-level", "7"])
        .args(["--warmup", "1", "--passes", "3"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut rows = records(&out);
    rows.sort_by_key(|r| r.request_id);
    for level in 0..2 {
        let of = |warmup: bool| {
            rows.iter()
                .filter(|r| r.level == level && !r.cooldown && r.warmup == warmup)
                .count()
        };
        assert_eq!((of(false), of(true)), (7, 3), "level {level}");
    }
    // The order requests were sent in, as runs of one level.
    let mut turns: Vec<u32> = Vec::new();
    for r in rows.iter().filter(|r| !r.cooldown) {
        if turns.last() != Some(&r.level) {
            turns.push(r.level);
        }
    }
    assert_eq!(turns, vec![0, 1, 0, 1], "pass order 0,1 | 1,0 | 0,1");
    assert_eq!(manifest(&out).status, "complete");

    for (flags, needle) in [
        (vec!["--passes", "0"], "--passes"),
        (vec!["--passes", "8"], "--requests-per-level"),
    ] {
        let output = calibrate(&server.url, &dir.path().join("bad"))
            .args(["--concurrency", "1", "--requests-per-level", "7"])
            .args(flags)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(needle), "{stderr}");
    }
}

/// A closed-loop level with fewer requests than its concurrency (here a pass's share: 4 requests
/// at c = 6 over two passes, 2 a pass) still runs at c: the other clients send cool-down
/// requests, so each measured request has c − 1 others in flight with it, and no client sends a
/// second cool-down (the spend guard counts at most c − 1 a level and pass).
#[test]
fn a_level_smaller_than_its_concurrency_still_runs_at_that_concurrency() {
    let server = ServerThread::start(40, 4, None);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let output = calibrate(&server.url, &out)
        .args(["--concurrency", "6", "--prompt-tokens", "32"])
        .args(["--output-tokens", "32", "--requests-per-level", "4"])
        .args(["--warmup", "0", "--passes", "2", "--no-fit"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows = records(&out);
    let measured: Vec<_> = rows.iter().filter(|r| r.is_measured()).collect();
    assert_eq!(measured.len(), 4);
    for r in &measured {
        // In flight at the middle of this request's life, itself included.
        let mid = (r.sent_s + r.last_token_s.unwrap()) / 2.0;
        let in_flight = rows
            .iter()
            .filter(|o| o.sent_s <= mid && o.last_token_s.unwrap() >= mid)
            .count();
        assert_eq!(
            in_flight, 6,
            "request {} ran with {in_flight}",
            r.request_id
        );
    }
    let cooldowns = rows.iter().filter(|r| r.cooldown).count();
    assert!(
        cooldowns <= 2 * 5,
        "{cooldowns} cool-downs, at most 5 a pass"
    );
    // Six requests at a time, each 40 + 31 × 4 ms for 32 tokens: 6 × 32 / 0.164 ≈ 1,171 output
    // tokens/s while the level runs, although only 4 of its requests are measured and they are
    // split over two passes (client overhead can only lower it: the clients' sends are a few ms
    // apart, so some of the cool-downs' last tokens come after the measured ones have ended).
    let ideal = 6.0 * 32.0 / (0.040 + 31.0 * 0.004);
    let rates = level_rates(&out);
    assert_eq!(rates.len(), 1);
    let ratio = rates[0].2 / ideal;
    eprintln!(
        "c = 6: {:.0} output tokens/s, {ratio:.3} of {ideal:.0}",
        rates[0].2
    );
    assert!((0.8..1.05).contains(&ratio), "{ratio:.3} of {ideal:.0}");
}
