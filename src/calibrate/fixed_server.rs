//! A fixed-latency OpenAI-compatible streaming server on loopback: first token after `ttft`,
//! then one token every `itl`, as many as `max_tokens` asks. It is the known quantity against
//! which the client's own overhead is measured (`llmcap bench-client`) and the stand-in server
//! for calibrate's interruption tests.
//!
//! Tokio's timer has millisecond granularity, which alone would add up to 1 ms to every TTFT;
//! each stream is therefore paced by `std::thread::sleep` on a blocking thread (tens of µs).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FixedLatency {
    pub ttft: Duration,
    pub itl: Duration,
    /// Every n-th request is answered 429 (a throttle), for error-handling tests.
    pub throttle_every: Option<u64>,
}

struct ServerState {
    latency: FixedLatency,
    requests: AtomicU64,
}

/// A running server; dropping it (or `shutdown`) stops it.
pub struct FixedServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    state: Arc<ServerState>,
}

impl FixedServer {
    /// Binds 127.0.0.1 on `port` (0 = any free port) and serves on the current runtime.
    pub async fn start(latency: FixedLatency, port: u16) -> Result<FixedServer> {
        let state = Arc::new(ServerState {
            latency,
            requests: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(completions))
            .route("/v1/models", get(models))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .context("cannot bind 127.0.0.1")?;
        let addr = listener.local_addr()?;
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

    pub fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for FixedServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn models() -> Json<Value> {
    Json(json!({"object": "list", "data": [{"id": "fixed-latency", "object": "model"}]}))
}

async fn completions(State(state): State<Arc<ServerState>>, Json(body): Json<Value>) -> Response {
    let received = Instant::now();
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
    let latency = state.latency;
    let (sender, receiver) = mpsc::channel::<String>(8);
    tokio::task::spawn_blocking(move || {
        for i in 0..tokens {
            let due = received + latency.ttft + latency.itl * i as u32;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let chunk = json!({"object": "chat.completion.chunk",
                               "choices": [{"index": 0, "delta": {"content": "tok "}}]});
            if sender.blocking_send(format!("data: {chunk}\n\n")).is_err() {
                return; // the client went away
            }
        }
        let usage = json!({"object": "chat.completion.chunk", "choices": [],
                           "usage": {"prompt_tokens": prompt_chars / 4, "completion_tokens": tokens}});
        let _ = sender.blocking_send(format!("data: {usage}\n\ndata: [DONE]\n\n"));
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let chunk = receiver.recv().await?;
        Some((Ok::<_, std::convert::Infallible>(chunk), receiver))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .body(Body::from_stream(stream))
        .expect("a valid response")
}
