//! calibrate against servers that misbehave: each run ends within its deadlines (`--timeout`),
//! exits 1 with the reason, and writes no profile. The servers are raw TCP on loopback, so
//! they can do what no real server library would: stall after the headers, never end a body,
//! lie about token counts.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use assert_cmd::Command;

/// What the server does with every request it reads.
#[derive(Clone, Copy, Debug)]
enum Misbehaviour {
    /// Accepts, reads the request, never answers.
    Silent,
    /// Sends the headers of a stream, then nothing.
    StallAfterHeaders,
    /// HTTP 500 with a body that never ends.
    EndlessError,
    /// A stream of content chunks that never ends.
    EndlessStream,
    /// A normal 16-token stream whose usage claims 10^12 output tokens.
    HugeCount,
    /// A stream of only `data: [DONE]`.
    OnlyDone,
    /// A well-formed reply, after which the connection looks open (no `connection: close`)
    /// but the next request on it is read and the connection closed unanswered, as
    /// llama-server does after a streamed reply.
    OneReplyAConnection,
}

/// A loopback server that answers every connection with its misbehaviour until dropped. The
/// endless behaviours stop writing once the server is dropped (or after a minute).
struct Server {
    url: String,
    stop: Arc<AtomicBool>,
}

impl Server {
    fn start(behaviour: Misbehaviour) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        listener.set_nonblocking(true).unwrap();
        let flag = stop.clone();
        thread::spawn(move || {
            let started = Instant::now();
            while !flag.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(120) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let flag = flag.clone();
                        thread::spawn(move || serve(stream, behaviour, &flag));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Server { url, stop }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Reads one request (headers and a Content-Length body); `None` when the client went away.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, usize)> {
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((head, length))
}

fn chunk(text: &str) -> String {
    format!("data: {{\"choices\":[{{\"delta\":{{\"content\":\"{text}\"}}}}]}}\n\n")
}

fn serve(stream: TcpStream, behaviour: Misbehaviour, stop: &AtomicBool) {
    stream.set_write_timeout(Some(Duration::from_secs(5))).ok();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let started = Instant::now();
    let go_on = || !stop.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(60);
    let mut replies = 0;
    while let Some((head, body_bytes)) = read_request(&mut reader) {
        // No length: the body runs until the connection closes.
        let stream_headers =
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
        match behaviour {
            Misbehaviour::Silent => {
                while go_on() {
                    thread::sleep(Duration::from_millis(20));
                }
                return;
            }
            Misbehaviour::StallAfterHeaders => {
                let _ = writer.write_all(stream_headers.as_bytes());
                while go_on() {
                    thread::sleep(Duration::from_millis(20));
                }
                return;
            }
            Misbehaviour::EndlessError => {
                let _ = writer.write_all(
                    b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\n\
                      connection: close\r\n\r\n",
                );
                let block = vec![b'x'; 64 * 1024];
                while go_on() && writer.write_all(&block).is_ok() {}
                return;
            }
            Misbehaviour::EndlessStream => {
                let _ = writer.write_all(stream_headers.as_bytes());
                let piece = chunk("word ").repeat(64);
                while go_on() && writer.write_all(piece.as_bytes()).is_ok() {}
                return;
            }
            Misbehaviour::OneReplyAConnection if replies > 0 => return,
            Misbehaviour::OneReplyAConnection => {
                // The prompt's size in tokens grows with the request, so the prompt-size probes
                // can size prompts.
                let mut body = chunk("tok ").repeat(16);
                body.push_str(&format!(
                    "data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":{},\
                     \"completion_tokens\":16}}}}\n\ndata: [DONE]\n\n",
                    body_bytes / 4
                ));
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                if writer.write_all(response.as_bytes()).is_err() {
                    return;
                }
                replies += 1;
            }
            Misbehaviour::HugeCount | Misbehaviour::OnlyDone => {
                let mut body = String::new();
                if matches!(behaviour, Misbehaviour::HugeCount) {
                    // The listing of GET /v1/models is never asked for: --model is given.
                    for _ in 0..16 {
                        body.push_str(&chunk("tok "));
                    }
                    body.push_str(
                        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":40,\
                         \"completion_tokens\":1000000000000}}\n\n",
                    );
                }
                body.push_str("data: [DONE]\n\n");
                let _ = head;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                if writer.write_all(response.as_bytes()).is_err() {
                    return;
                }
            }
        }
    }
}

/// Runs a small calibration with `--timeout 2` and returns its output and wall time.
fn calibrate(server: &Server, out: &Path, model: bool) -> (Output, Duration) {
    let mut command = Command::cargo_bin("llmcap").unwrap();
    command.args([
        "calibrate",
        "--target",
        "openai",
        "--url",
        &server.url,
        "--timeout",
        "2",
        "--concurrency",
        "1,2",
        "--prompt-tokens",
        "16",
        "--output-tokens",
        "16",
        "--requests-per-level",
        "3",
        "--warmup",
        "0",
        "--no-progress",
        "--out",
        out.to_str().unwrap(),
    ]);
    if model {
        command.args(["--model", "stub"]);
    }
    // Far past every deadline the run should keep: a hang fails here, not in CI's timeout.
    command.timeout(Duration::from_secs(90));
    let started = Instant::now();
    let output = command.output().unwrap();
    (output, started.elapsed())
}

/// Exit 1, the reason on stderr, within `within`, and no profile; returns whether the run
/// directory is still there.
fn refused(behaviour: Misbehaviour, model: bool, within: Duration, reason: &str) -> bool {
    let server = Server::start(behaviour);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let (output, took) = calibrate(&server, &out, model);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{behaviour:?}: {stderr}");
    assert!(stderr.contains(reason), "{behaviour:?}: {stderr}");
    assert!(took < within, "{behaviour:?} took {took:?}: {stderr}");
    assert!(
        !out.join("profile.toml").exists(),
        "{behaviour:?} wrote a profile"
    );
    out.exists()
}

#[test]
fn a_server_that_never_lists_its_models_is_left_after_the_timeout() {
    // Discovery (GET /v1/models) is held to --timeout 2; the empty run directory goes.
    let left = refused(
        Misbehaviour::Silent,
        false,
        Duration::from_secs(20),
        "within --timeout 2 s",
    );
    assert!(!left, "an empty run directory was left behind");
}

#[test]
fn a_server_that_never_answers_fails_the_probe_within_the_timeout() {
    let left = refused(
        Misbehaviour::Silent,
        true,
        Duration::from_secs(20),
        "prompt-size probe",
    );
    assert!(!left, "an empty run directory was left behind");
}

#[test]
fn a_stream_that_stalls_after_its_headers_times_out() {
    refused(
        Misbehaviour::StallAfterHeaders,
        true,
        Duration::from_secs(20),
        "no complete answer within 2 s",
    );
}

#[test]
fn an_error_with_an_endless_body_is_read_only_to_its_cap() {
    // Three attempts of the first probe, each a 500 read to 64 KiB, not for 2 s each.
    refused(
        Misbehaviour::EndlessError,
        true,
        Duration::from_secs(20),
        "500",
    );
}

#[test]
fn an_endless_stream_is_cut_at_its_size_cap() {
    refused(
        Misbehaviour::EndlessStream,
        true,
        Duration::from_secs(20),
        "the stream was cut",
    );
}

#[test]
fn token_counts_no_model_could_produce_fail_the_run() {
    refused(
        Misbehaviour::HugeCount,
        true,
        Duration::from_secs(30),
        "capped at max_tokens",
    );
}

#[test]
fn a_stream_of_only_done_measured_nothing() {
    refused(
        Misbehaviour::OnlyDone,
        true,
        Duration::from_secs(30),
        "no generated text",
    );
}

#[test]
fn a_pooled_connection_the_server_closed_is_replaced_not_failed() {
    // Every connection serves one reply; each later request that picks it from the pool is
    // dropped unanswered. At c = 2 the pool holds two such connections, so a retry through the
    // pool would pick the other dead one: the retry goes out on a connection of its own.
    let server = Server::start(Misbehaviour::OneReplyAConnection);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let (output, _) = calibrate(&server, &out, true);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let csv = std::fs::read_to_string(out.join("requests.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (status, attempts) = (column("status"), column("attempts"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows.len() >= 6);
    assert!(rows.iter().all(|r| r[status] == "ok"), "{csv}");
    // A request that finds the pool empty opens a connection of its own; one that finds a
    // used connection there needs its retry.
    let retried = rows.iter().filter(|r| r[attempts] == "2").count();
    assert!(retried >= 2, "{retried} of {} retried: {csv}", rows.len());
}
