//! Paces a generation's tokens onto a streamed response body, in any service's framing.

use axum::body::Body;
use axum::http::header;
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::mpsc;

use super::behaviour::{Generation, StreamFault};
use super::text;

type Chunk = Result<Bytes, std::io::Error>;

/// How one service frames a stream.
pub trait Framing: Send + 'static {
    /// Frames sent with the first token (e.g. messageStart).
    fn start(&mut self, generation: &Generation) -> Vec<Bytes>;
    fn token(&mut self, generation: &Generation, index: u64, text: &str) -> Vec<Bytes>;
    /// Frames after the last token: stop reason, usage, metrics.
    fn finish(&mut self, generation: &Generation, latency_ms: u64) -> Vec<Bytes>;
    /// The in-stream throttle (or the service's nearest in-stream error).
    fn throttle(&mut self) -> Bytes;
}

/// A response whose body streams `framing`'s frames at the generation's pace. When the client
/// goes away the pacing task ends, and with it the generation (freeing concurrency and quota).
pub fn paced(generation: Generation, mut framing: impl Framing, content_type: &str) -> Response {
    let (sender, receiver) = mpsc::channel::<Chunk>(16);
    tokio::spawn(async move {
        let send_all = |frames: Vec<Bytes>| {
            let sender = sender.clone();
            async move {
                for frame in frames {
                    if sender.send(Ok(frame)).await.is_err() {
                        return false;
                    }
                }
                true
            }
        };
        // Absolute deadlines, so the timer's millisecond rounding never accumulates.
        let mut due = generation.start + generation.ttft;
        for index in 0..generation.output_tokens {
            tokio::time::sleep_until(due.into()).await;
            due += generation.step_now();
            match generation.fault {
                Some(StreamFault::Drop { after_tokens }) if index == after_tokens => {
                    // An error item makes hyper abort the connection mid-body, as a broken
                    // upstream would; a clean end would look like a short answer.
                    let _ = sender
                        .send(Err(std::io::Error::other("injected mid-stream drop")))
                        .await;
                    return;
                }
                Some(StreamFault::Throttle { after_tokens }) if index == after_tokens => {
                    let _ = sender.send(Ok(framing.throttle())).await;
                    return;
                }
                _ => {}
            }
            let mut frames = if index == 0 {
                framing.start(&generation)
            } else {
                Vec::new()
            };
            frames.extend(framing.token(&generation, index, text::token(index)));
            if !send_all(frames).await {
                return;
            }
            generation.produced(index + 1);
        }
        let latency_ms = generation.start.elapsed().as_millis() as u64;
        send_all(framing.finish(&generation, latency_ms)).await;
    });
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let chunk = receiver.recv().await?;
        Some((chunk, receiver))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from_stream(body))
        .expect("a valid response")
}

/// Waits until the whole answer would have been generated (non-streaming operations).
pub async fn wait_for_completion(generation: &Generation) {
    let last = generation.output_tokens.max(1) - 1;
    tokio::time::sleep_until(generation.due(last).into()).await;
    generation.produced(generation.output_tokens);
}
