//! A fixed-latency OpenAI-compatible streaming server on loopback: first token after `ttft`,
//! then one token every `itl`, as many as `max_tokens` asks. It is the known quantity against
//! which the client's own overhead is measured (`llmcap bench-client`) and the stand-in server
//! for calibrate's interruption tests.
//!
//! Tokio's timer has millisecond granularity, which alone would add up to 1 ms to every TTFT;
//! streams are therefore paced by one OS thread (`Pacer`) that sleeps on a condition variable
//! until the earliest due chunk (tens of µs late at most) and wakes that stream's task.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::oneshot;

/// The server could not listen.
#[derive(Debug, thiserror::Error)]
#[error("cannot bind 127.0.0.1:{port}: {cause}")]
pub struct BindError {
    pub port: u16,
    pub cause: std::io::Error,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FixedLatency {
    pub ttft: Duration,
    pub itl: Duration,
    /// Every n-th request is answered 429 (a throttle), for error-handling tests.
    pub throttle_every: Option<u64>,
    /// At most this many requests are served at once; the rest wait for one to finish before
    /// their `ttft` starts (a server with a full batch: throughput stops at slots / latency).
    pub slots: Option<u32>,
}

struct ServerState {
    latency: FixedLatency,
    requests: AtomicU64,
    pacer: Arc<Pacer>,
    slots: Option<Arc<tokio::sync::Semaphore>>,
}

/// Wakes tasks at their due instants from one OS thread.
struct Pacer {
    due: Mutex<BinaryHeap<Reverse<(Instant, u64)>>>,
    wakers: Mutex<std::collections::HashMap<u64, oneshot::Sender<()>>>,
    changed: Condvar,
    next_id: AtomicU64,
    stopped: AtomicBool,
}

impl Pacer {
    fn start() -> Arc<Pacer> {
        let pacer = Arc::new(Pacer {
            due: Mutex::new(BinaryHeap::new()),
            wakers: Mutex::new(std::collections::HashMap::new()),
            changed: Condvar::new(),
            next_id: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
        });
        let worker = Arc::clone(&pacer);
        std::thread::Builder::new()
            .name("fixed-server-pacer".into())
            .spawn(move || worker.run())
            .expect("a pacer thread");
        pacer
    }

    /// Resolves at `at` (or at once if it has passed).
    fn sleep_until(&self, at: Instant) -> oneshot::Receiver<()> {
        let (sender, receiver) = oneshot::channel();
        if at <= Instant::now() {
            let _ = sender.send(());
            return receiver;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.wakers.lock().expect("pacer").insert(id, sender);
        self.due.lock().expect("pacer").push(Reverse((at, id)));
        self.changed.notify_one();
        receiver
    }

    fn run(&self) {
        let mut due = self.due.lock().expect("pacer");
        while !self.stopped.load(Ordering::Relaxed) {
            let now = Instant::now();
            match due.peek().copied() {
                Some(Reverse((at, id))) if at <= now => {
                    due.pop();
                    if let Some(waker) = self.wakers.lock().expect("pacer").remove(&id) {
                        let _ = waker.send(());
                    }
                }
                Some(Reverse((at, _))) => {
                    due = self.changed.wait_timeout(due, at - now).expect("pacer").0;
                }
                None => {
                    due = self
                        .changed
                        .wait_timeout(due, Duration::from_millis(100))
                        .expect("pacer")
                        .0;
                }
            }
        }
    }

    fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
        self.changed.notify_one();
    }
}

/// A running server; dropping it (or `shutdown`) stops it.
pub struct FixedServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    state: Arc<ServerState>,
}

impl FixedServer {
    /// Binds 127.0.0.1 on `port` (0 = any free port) and serves on the current runtime.
    pub async fn start(latency: FixedLatency, port: u16) -> Result<FixedServer, BindError> {
        let state = Arc::new(ServerState {
            latency,
            requests: AtomicU64::new(0),
            pacer: Pacer::start(),
            slots: latency
                .slots
                .map(|n| Arc::new(tokio::sync::Semaphore::new(n.max(1) as usize))),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(completions))
            .route("/v1/models", get(models))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|cause| BindError { port, cause })?;
        let addr = listener
            .local_addr()
            .map_err(|cause| BindError { port, cause })?;
        // Without TCP_NODELAY, Nagle's algorithm holds each small chunk until the previous one
        // is acknowledged, and the client's delayed ACK turns that into tens of milliseconds.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(FixedServer {
            addr,
            stop: Some(stop),
            state,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests received so far, answered or not.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    pub fn shutdown(self) {}
}

impl Drop for FixedServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.state.pacer.stop();
    }
}

async fn models() -> Json<Value> {
    Json(json!({"object": "list", "data": [{"id": "fixed-latency", "object": "model"}]}))
}

async fn completions(State(state): State<Arc<ServerState>>, Json(body): Json<Value>) -> Response {
    let n = state.requests.fetch_add(1, Ordering::SeqCst) + 1;
    if state
        .latency
        .throttle_every
        .is_some_and(|k| k > 0 && n % k == 0)
    {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"error": {"message": "rate limited", "type": "rate_limit"}})),
        )
            .into_response();
    }
    let tokens = body
        .get("max_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(16)
        .max(1);
    let prompt_chars = body
        .pointer("/messages/0/content")
        .and_then(Value::as_str)
        .map_or(0, str::len) as u64;
    // The slot is held until the stream ends (the state below owns it).
    let slot = match &state.slots {
        Some(slots) => Arc::clone(slots).acquire_owned().await.ok(),
        None => None,
    };
    let received = Instant::now();
    let latency = state.latency;
    let pacer = Arc::clone(&state.pacer);
    let stream = futures_util::stream::unfold((0u64, slot), move |(i, slot)| {
        let pacer = Arc::clone(&pacer);
        async move {
            if i > tokens {
                return None;
            }
            if i == tokens {
                let usage = json!({"object": "chat.completion.chunk", "choices": [],
                                   "usage": {"prompt_tokens": prompt_chars / 4,
                                             "completion_tokens": tokens}});
                let last = format!("data: {usage}\n\ndata: [DONE]\n\n");
                return Some((Ok::<_, std::convert::Infallible>(last), (i + 1, None)));
            }
            let due = received + latency.ttft + latency.itl * i as u32;
            let _ = pacer.sleep_until(due).await;
            let chunk = json!({"object": "chat.completion.chunk",
                               "choices": [{"index": 0, "delta": {"content": "tok "}}]});
            Some((Ok(format!("data: {chunk}\n\n")), (i + 1, slot)))
        }
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(stream))
        .expect("a valid response")
}
