//! Connections that wait too long for their next request are closed by the emulator; a
//! response still being streamed is never cut by that timer. Each wait is bounded: the test
//! reads until the server closes (EOF) and fails if that has not happened within a deadline.

mod support;

use std::time::{Duration, Instant};

use aws_sdk_bedrockruntime::types::ConverseStreamOutput;
use llmcap::emulate::{Emulator, EmulatorConfig};
use support::{bedrock_client, fast_profile, max_tokens, user, FAST_MODEL};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const IDLE: Duration = Duration::from_millis(400);
const DEADLINE: Duration = Duration::from_secs(20);

async fn emulator() -> Emulator {
    let mut config = EmulatorConfig::new(fast_profile());
    config.idle_timeout = IDLE;
    Emulator::start(config).await.unwrap()
}

/// Reads until the server closes the connection; returns everything read.
async fn read_to_close(tcp: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    tokio::time::timeout(DEADLINE, tcp.read_to_end(&mut all))
        .await
        .expect("the server closes an idle connection")
        .expect("a clean close");
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_sends_a_request_is_closed() {
    let emulator = emulator().await;
    let address = emulator.url().trim_start_matches("http://").to_string();
    // Taken before connecting: the server's timer cannot start before the client connects,
    // while an instant taken after `connect` returns can be late on a loaded machine.
    let opened = Instant::now();
    let mut tcp = TcpStream::connect(&address).await.unwrap();
    let read = read_to_close(&mut tcp).await;
    assert!(read.is_empty(), "nothing was asked, nothing answered");
    assert!(opened.elapsed() >= IDLE, "not before the idle timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_is_closed_once_idle_after_its_answer() {
    let emulator = emulator().await;
    let address = emulator.url().trim_start_matches("http://").to_string();
    let mut tcp = TcpStream::connect(&address).await.unwrap();
    // An unsigned request: answered (403) on a keep-alive connection.
    let request = format!(
        "POST /model/{FAST_MODEL}/converse HTTP/1.1\r\nhost: {address}\r\n\
         content-type: application/json\r\ncontent-length: 2\r\n\r\n{{}}"
    );
    // Taken before sending: the server answers, and starts its idle timer, only after that.
    let answered = Instant::now();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let read = read_to_close(&mut tcp).await;
    let text = String::from_utf8_lossy(&read);
    assert!(text.starts_with("HTTP/1.1 403"), "{text}");
    assert!(!text.contains("connection: close"), "kept alive: {text}");
    assert!(answered.elapsed() >= IDLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_longer_than_the_idle_timeout_completes() {
    let emulator = emulator().await;
    let client = bedrock_client(&emulator.url());
    let started = Instant::now();
    // 150 tokens at ≥ 5 ms each: longer than the 400 ms idle timeout.
    let mut out = client
        .converse_stream()
        .model_id(FAST_MODEL)
        .messages(user("a long answer"))
        .inference_config(max_tokens(150))
        .send()
        .await
        .unwrap();
    let mut deltas = 0;
    let mut stopped = false;
    while let Some(event) = out.stream.recv().await.unwrap() {
        match event {
            ConverseStreamOutput::ContentBlockDelta(_) => deltas += 1,
            ConverseStreamOutput::MessageStop(_) => stopped = true,
            _ => {}
        }
    }
    assert!(started.elapsed() > IDLE, "the stream outlasted the timer");
    assert_eq!((deltas, stopped), (150, true));
    // The connection the stream used is still good for the next call.
    let again = client
        .converse()
        .model_id(FAST_MODEL)
        .messages(user("again"))
        .inference_config(max_tokens(2))
        .send()
        .await
        .unwrap();
    assert_eq!(again.usage().unwrap().output_tokens(), 2);
}
