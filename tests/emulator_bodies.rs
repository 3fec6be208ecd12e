//! Request bodies against hostile senders: a request whose credentials are wrong is answered
//! before its body is read (the server never waits for the rest); a body that does not arrive
//! within the body deadline is cut off; bodies kept before their signature can be checked share
//! a byte budget, past which requests get the service's 503 at once; and a flood of
//! unauthenticated large bodies leaves the emulator's peak memory where it was.
//!
//! The requests are written by hand on raw TCP (the SDKs always send whole bodies), signed with
//! aws-sigv4, the signer the SDKs use. Every wait is bounded by a deadline and measured.

mod support;

use std::time::{Duration, Instant, SystemTime};

use llmcap::emulate::{Emulator, EmulatorConfig, DEFAULT_ENDPOINT_NAME};
use serde_json::Value;
use sha2::{Digest, Sha256};
use support::{bedrock_client, fast_profile, max_tokens, user, FAST_MODEL, KEY_ID, SECRET};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What the tests declare as a large body: 20 MB, under Bedrock's 25 MB limit.
const LARGE: usize = 20_000_000;
/// How long an answer may take when nothing is waited for: far below the 30 s body deadline
/// of an emulator with the default idle timeout, so an answer within it was not the deadline's.
const PROMPT: Duration = Duration::from_secs(10);

const CONVERSE: &str = "/model/test.fast-model-v1%3A0/converse";
const MISMATCH: &str = "The request signature we calculated does not match the signature you \
                        provided. Check your AWS Secret Access Key and signing method. Consult \
                        the service documentation for details.";

async fn emulator(configure: impl FnOnce(&mut EmulatorConfig)) -> Emulator {
    let mut config = EmulatorConfig::new(fast_profile());
    configure(&mut config);
    Emulator::start(config).await.unwrap()
}

fn address(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How a request is signed.
#[derive(Clone, Copy)]
enum Signing<'a> {
    /// No `Authorization` header.
    None,
    /// Signed over `body` with these keys; the payload hash is not sent (the SDKs' way).
    Over {
        key: &'a str,
        secret: &'a str,
        service: &'a str,
        body: &'a [u8],
    },
    /// Signed with these keys over the declared payload hash, sent in `x-amz-content-sha256`.
    Declaring {
        key: &'a str,
        secret: &'a str,
        service: &'a str,
        hash: &'a str,
    },
}

/// The head of a `POST path` carrying `length` body bytes, signed as asked, with `extra` headers.
fn request_head(
    addr: &str,
    path: &str,
    length: usize,
    signing: Signing,
    extra: &[(&str, &str)],
) -> String {
    use aws_sigv4::http_request::{
        sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings,
    };
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), addr.into()),
        ("content-type".into(), "application/json".into()),
    ];
    let signed = match signing {
        Signing::None => None,
        Signing::Over {
            key,
            secret,
            service,
            body,
        } => Some((key, secret, service, SignableBody::Bytes(body), false)),
        Signing::Declaring {
            key,
            secret,
            service,
            hash,
        } => Some((
            key,
            secret,
            service,
            SignableBody::Precomputed(hash.to_string()),
            true,
        )),
    };
    if let Some((key, secret, service, body, declare)) = signed {
        let identity =
            aws_sdk_bedrockruntime::config::Credentials::new(key, secret, None, None, "test")
                .into();
        let mut settings = SigningSettings::default();
        if declare {
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name(service)
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let url = format!("http://{addr}{path}");
        let unsigned: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let request =
            SignableRequest::new("POST", url.as_str(), unsigned.into_iter(), body).unwrap();
        let (instructions, _) = sign(request, &params).unwrap().into_parts();
        for header in instructions.into_parts().0 {
            headers.push((header.name().to_string(), header.value().to_string()));
        }
    }
    headers.push(("content-length".into(), length.to_string()));
    for (name, value) in extra {
        headers.push((name.to_string(), value.to_string()));
    }
    let mut text = format!("POST {path} HTTP/1.1\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text
}

/// An HTTP answer as read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// Header names lowercased.
    headers: Vec<(String, String)>,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `x-amzn-errortype` (AWS) or the error's `type` (OpenAI, Anthropic).
    fn error_type(&self) -> String {
        if let Some(code) = self.header("x-amzn-errortype") {
            return code.to_string();
        }
        let error = &self.body["error"];
        error["type"].as_str().unwrap_or("<none>").to_string()
    }

    fn closes(&self) -> bool {
        self.header("connection") == Some("close")
    }
}

/// Reads one answer (an interim `100 Continue` counts as one), failing past `within`.
async fn answer(read: &mut (impl AsyncRead + Unpin), within: Duration) -> Answer {
    tokio::time::timeout(within, read_answer(read))
        .await
        .expect("answered within the bound")
}

async fn read_answer(read: &mut (impl AsyncRead + Unpin)) -> Answer {
    let mut bytes = Vec::new();
    let mut byte = [0u8; 1];
    // Byte by byte up to the blank line, so nothing after the head is consumed.
    while !bytes.ends_with(b"\r\n\r\n") {
        let n = read.read(&mut byte).await.expect("the answer's head");
        assert!(
            n == 1,
            "closed before a whole head: {:?}",
            String::from_utf8_lossy(&bytes)
        );
        bytes.push(byte[0]);
        assert!(bytes.len() < 64 * 1024, "a head that long is not an answer");
    }
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let mut lines = text.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0u8; length];
    read.read_exact(&mut body).await.expect("the answer's body");
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    }
}

/// Whether the server closes the connection (EOF, or a reset when the client's unread bytes
/// were still on it) within `within`.
async fn closed_within(read: &mut (impl AsyncRead + Unpin), within: Duration) -> bool {
    let mut rest = [0u8; 1024];
    let waited = tokio::time::timeout(within, async {
        loop {
            match read.read(&mut rest).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    });
    waited.await.is_ok()
}

/// Sends `head` and the first `sent` bytes of the body; the answer to that, and whether the
/// connection was then closed.
async fn refused_early(addr: &str, head: &str, sent: usize) -> (Answer, Duration, bool) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    // The server may already have refused and closed: a failed write is fine.
    let _ = tcp.write_all(&vec![b' '; sent]).await;
    let started = Instant::now();
    let answer = answer(&mut tcp, PROMPT).await;
    let elapsed = started.elapsed();
    let closed = closed_within(&mut tcp, PROMPT).await;
    (answer, elapsed, closed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_answered_before_a_large_body_is_read() {
    let emulator = emulator(|_| {}).await;
    let addr = address(&emulator.url());
    let invocations = format!("/endpoints/{DEFAULT_ENDPOINT_NAME}/invocations");
    let over = |key, secret, service| Signing::Over {
        key,
        secret,
        service,
        body: b"",
    };
    // A hash the 20 MB would have had: the signature over it is checked before any of them.
    let declared = sha256_hex(b"what the body would hash to");
    let cases = [
        (CONVERSE, Signing::None, 403, "AccessDeniedException"),
        (
            CONVERSE,
            over("AKIDUNKNOWN", SECRET, "bedrock"),
            403,
            "UnrecognizedClientException",
        ),
        (
            CONVERSE,
            over(KEY_ID, SECRET, "sagemaker"),
            403,
            "InvalidSignatureException",
        ),
        (
            CONVERSE,
            Signing::Declaring {
                key: KEY_ID,
                secret: "not-the-secret",
                service: "bedrock",
                hash: &declared,
            },
            403,
            "InvalidSignatureException",
        ),
        (
            invocations.as_str(),
            over("AKIDUNKNOWN", SECRET, "sagemaker"),
            403,
            "UnrecognizedClientException",
        ),
        (
            invocations.as_str(),
            Signing::None,
            403,
            "MissingAuthenticationTokenException",
        ),
    ];
    for (path, signing, status, code) in cases {
        let head = request_head(&addr, path, LARGE, signing, &[]);
        let (answer, elapsed, closed) = refused_early(&addr, &head, 64 * 1024).await;
        assert_eq!(
            (answer.status, answer.error_type().as_str()),
            (status, code),
            "{head}"
        );
        assert!(elapsed < PROMPT, "answered without the rest of the body");
        assert!(
            answer.closes(),
            "the unread body closes the connection: {answer:?}"
        );
        assert!(closed, "and the server closes it");
    }
    let declaring = Signing::Declaring {
        key: KEY_ID,
        secret: "not-the-secret",
        service: "bedrock",
        hash: &declared,
    };
    let (answer, _, _) = refused_early(
        &addr,
        &request_head(&addr, CONVERSE, LARGE, declaring, &[]),
        0,
    )
    .await;
    assert_eq!(answer.body["message"], MISMATCH);

    // With Expect: 100-continue the client waits to be asked for the body: it never is.
    let head = request_head(
        &addr,
        CONVERSE,
        LARGE,
        Signing::None,
        &[("expect", "100-continue")],
    );
    let (answer, _, _) = refused_early(&addr, &head, 0).await;
    assert_eq!(
        answer.status, 403,
        "the final answer, no 100 Continue first"
    );

    // The mantle paths check their key before the body too.
    for (path, key, kind) in [
        (
            "/v1/chat/completions",
            ("authorization", "Bearer wrong"),
            "invalid_request_error",
        ),
        (
            "/v1/messages",
            ("x-api-key", "wrong"),
            "authentication_error",
        ),
    ] {
        let head = request_head(&addr, path, LARGE, Signing::None, &[key]);
        let (answer, elapsed, closed) = refused_early(&addr, &head, 64 * 1024).await;
        assert_eq!((answer.status, answer.error_type().as_str()), (401, kind));
        assert!(elapsed < PROMPT && answer.closes() && closed, "{answer:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_payload_hash_is_held_to_the_body() {
    let emulator = emulator(|_| {}).await;
    let addr = address(&emulator.url());
    let body =
        br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":2}}"#;
    let hash = sha256_hex(body);
    let signing = Signing::Declaring {
        key: KEY_ID,
        secret: SECRET,
        service: "bedrock",
        hash: &hash,
    };
    let mut tcp = TcpStream::connect(&addr).await.unwrap();
    let head = request_head(&addr, CONVERSE, body.len(), signing, &[]);
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(body).await.unwrap();
    let served = answer(&mut tcp, PROMPT).await;
    assert_eq!(served.status, 200, "{served:?}");
    assert_eq!(served.body["usage"]["outputTokens"], 2);
    // Kept alive: the same connection takes a body that does not hash to what was declared.
    let mut changed = body.to_vec();
    changed[body.len() - 3] = b'3';
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp.write_all(&changed).await.unwrap();
    let refused = answer(&mut tcp, PROMPT).await;
    assert_eq!(
        (refused.status, refused.error_type().as_str()),
        (403, "InvalidSignatureException")
    );
    assert_eq!(refused.body["message"], MISMATCH);
}

/// Writes a byte a second from the moment it is started, for at most a minute.
async fn trickle(mut write: tokio::net::tcp::OwnedWriteHalf) {
    for _ in 0..60 {
        if write.write_all(b" ").await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_trickled_at_a_byte_a_second_is_cut_off_at_the_deadline() {
    // The body deadline is the idle timeout when that is under 30 s.
    const DEADLINE: Duration = Duration::from_millis(1500);
    const MARGIN: Duration = Duration::from_secs(3);
    let emulator = emulator(|config| config.idle_timeout = DEADLINE).await;
    let addr = address(&emulator.url());
    // Heads that pass every check the head allows: the body is read, the signature (a wrong
    // secret's) would be checked at its end; the mantle key is right.
    let bogus = Signing::Over {
        key: KEY_ID,
        secret: "not-the-secret",
        service: "bedrock",
        body: b"",
    };
    let cases = [
        (
            request_head(&addr, CONVERSE, 100, bogus, &[]),
            "RequestTimeoutException",
        ),
        (
            request_head(
                &addr,
                "/v1/chat/completions",
                100,
                Signing::None,
                &[("authorization", "Bearer test")],
            ),
            "invalid_request_error",
        ),
    ];
    for (head, kind) in cases {
        let tcp = TcpStream::connect(&addr).await.unwrap();
        let (mut read, mut write) = tcp.into_split();
        write.write_all(head.as_bytes()).await.unwrap();
        let sent = Instant::now();
        let writer = tokio::spawn(trickle(write));
        let answer = answer(&mut read, DEADLINE + MARGIN).await;
        let elapsed = sent.elapsed();
        let closed = closed_within(&mut read, MARGIN).await;
        writer.abort();
        assert_eq!(
            (answer.status, answer.error_type().as_str()),
            (408, kind),
            "{answer:?}"
        );
        assert!(
            elapsed >= DEADLINE && elapsed < DEADLINE + MARGIN,
            "cut off at the deadline: {elapsed:?}"
        );
        assert!(answer.closes() && closed, "and the connection closed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_read_before_their_signature_is_checked_share_a_byte_budget() {
    const BUDGET: usize = 1_000_000;
    const EACH: usize = 250_000;
    let emulator = emulator(|config| config.unverified_body_bytes = BUDGET).await;
    let url = emulator.url();
    let addr = address(&url);
    let bogus = |service| Signing::Over {
        key: KEY_ID,
        secret: "not-the-secret",
        service,
        body: b"",
    };
    let expect = [("expect", "100-continue")];

    // Four bodies fill the budget. The server asks for each (100 Continue) only once their
    // bytes are held, so the fifth is sent knowing the first four are.
    let mut held = Vec::new();
    for _ in 0..BUDGET / EACH {
        let mut tcp = TcpStream::connect(&addr).await.unwrap();
        let head = request_head(&addr, CONVERSE, EACH, bogus("bedrock"), &expect);
        tcp.write_all(head.as_bytes()).await.unwrap();
        let asked = answer(&mut tcp, PROMPT).await;
        assert_eq!(asked.status, 100, "{asked:?}");
        held.push(tcp);
    }

    // Past the budget: the service's 503 at once, whatever the size, on either service.
    let invocations = format!("/endpoints/{DEFAULT_ENDPOINT_NAME}/invocations");
    for (path, service, size, code) in [
        (CONVERSE, "bedrock", EACH, "ServiceUnavailableException"),
        (CONVERSE, "bedrock", 10, "ServiceUnavailableException"),
        (
            invocations.as_str(),
            "sagemaker",
            EACH,
            "ServiceUnavailable",
        ),
    ] {
        let head = request_head(&addr, path, size, bogus(service), &expect);
        let (answer, _, _) = refused_early(&addr, &head, 0).await;
        assert_eq!((answer.status, answer.error_type().as_str()), (503, code));
    }
    let client = bedrock_client(&url);
    let converse = || {
        client
            .converse()
            .model_id(FAST_MODEL)
            .messages(user("hi"))
            .inference_config(max_tokens(2))
            .send()
    };
    let error = converse()
        .await
        .expect_err("the SDK's small body is refused too");
    use aws_sdk_bedrockruntime::error::ProvideErrorMetadata as _;
    assert_eq!(error.code(), Some("ServiceUnavailableException"));

    // A request whose signature was checked before its body is not the budget's.
    let body =
        br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":2}}"#;
    let hash = sha256_hex(body);
    let declaring = Signing::Declaring {
        key: KEY_ID,
        secret: SECRET,
        service: "bedrock",
        hash: &hash,
    };
    let mut tcp = TcpStream::connect(&addr).await.unwrap();
    tcp.write_all(request_head(&addr, CONVERSE, body.len(), declaring, &[]).as_bytes())
        .await
        .unwrap();
    tcp.write_all(body).await.unwrap();
    assert_eq!(answer(&mut tcp, PROMPT).await.status, 200);

    // The held bodies arrive: each is read, its signature checked and refused, its bytes
    // given back before the answer.
    for tcp in &mut held {
        tcp.write_all(&vec![b' '; EACH]).await.unwrap();
        let refused = answer(tcp, PROMPT).await;
        assert_eq!(
            (refused.status, refused.error_type().as_str()),
            (403, "InvalidSignatureException")
        );
    }
    let out = converse().await.expect("the budget is free again");
    assert_eq!(out.usage().unwrap().output_tokens(), 2);
}

/// The peak resident memory (VmHWM) of a process, in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/PID/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap();
    kib * 1024
}

/// The hostile probe's flood: 100 unsigned 24 MB bodies at once held 2.9 GB. Now each is
/// answered on its head and the emulator's peak memory hardly moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unauthenticated_large_bodies_leaves_peak_memory_where_it_was() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    const SENDERS: usize = 100;
    const BODY: usize = 24_000_000;
    const BOUND: u64 = 100 * 1024 * 1024;

    let profile = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/emulator-fast.toml"
    );
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("llmcap"))
        .args(["emulate", "--profile", profile])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    let stdout = child.stdout.take().unwrap();
    BufReader::new(stdout).read_line(&mut url).unwrap();
    let addr = address(url.trim());
    // One request served first, so the baseline has the server's steady state.
    let out = bedrock_client(url.trim())
        .converse()
        .model_id(FAST_MODEL)
        .messages(user("hi"))
        .inference_config(max_tokens(2))
        .send()
        .await;
    let before = peak_rss(child.id());

    let body = std::sync::Arc::new(vec![b' '; BODY]);
    let mut senders = tokio::task::JoinSet::new();
    for _ in 0..SENDERS {
        let addr = addr.clone();
        let body = body.clone();
        let head = request_head(&addr, CONVERSE, BODY, Signing::None, &[]);
        senders.spawn(async move {
            let tcp = TcpStream::connect(&addr).await.unwrap();
            let (mut read, mut write) = tcp.into_split();
            // The whole body, as the probe sent it, while the answer is read.
            let writer = tokio::spawn(async move {
                let _ = write.write_all(head.as_bytes()).await;
                let _ = write.write_all(&body).await;
            });
            let answer = answer(&mut read, PROMPT).await;
            let closed = closed_within(&mut read, PROMPT).await;
            let _ = writer.await;
            (answer.status, closed)
        });
    }
    let mut refused = 0;
    while let Some(sent) = senders.join_next().await {
        let (status, closed) = sent.unwrap();
        assert!(status == 403 && closed, "{status} {closed}");
        refused += 1;
    }
    let after = peak_rss(child.id());
    child.kill().unwrap();
    child.wait().unwrap();

    assert_eq!(out.unwrap().usage().unwrap().output_tokens(), 2);
    assert_eq!(refused, SENDERS);
    assert!(
        after < before + BOUND,
        "peak memory grew by {} MB (from {} MB)",
        (after - before) / 1_000_000,
        before / 1_000_000
    );
}
