//! Puts a generation's tokens onto a response in any service's framing: paced from the
//! profile, or relayed from an upstream server (proxy mode).

use std::time::Instant;

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::behaviour::{Generation, StreamFault};
use super::errors::{AwsError, Service};
use super::prompt::Prompt;
use super::text;
use super::upstream::{stream_failed, Piece, PieceStream, Upstream};

type Chunk = Result<Bytes, std::io::Error>;

/// How one service frames a stream.
pub trait Framing: Send + 'static {
    /// Frames sent with the first token (e.g. messageStart).
    fn start(&mut self, generation: &Generation) -> Vec<Bytes>;
    /// `last`: known to be the final token (paced answers; a relayed stream learns it only
    /// when the upstream ends, so `finish` must close the answer itself).
    fn token(&mut self, generation: &Generation, index: u64, text: &str, last: bool) -> Vec<Bytes>;
    /// Frames after the last token: stop reason, usage, metrics.
    fn finish(&mut self, generation: &Generation, latency_ms: u64) -> Vec<Bytes>;
    /// The in-stream throttle (or the service's nearest in-stream error).
    fn throttle(&mut self) -> Bytes;
    /// The model failed mid-stream (an upstream error in proxy mode).
    fn stream_error(&mut self, message: &str) -> Bytes;
}

/// The response body's sending half.
struct Sink(mpsc::Sender<Chunk>);

impl Sink {
    /// False once the client has gone away.
    async fn send_all(&self, frames: Vec<Bytes>) -> bool {
        for frame in frames {
            if self.0.send(Ok(frame)).await.is_err() {
                return false;
            }
        }
        true
    }

    /// An error item makes hyper abort the connection mid-body, as a broken upstream would; a
    /// clean end would look like a short answer.
    async fn cut(&self) {
        let _ = self
            .0
            .send(Err(std::io::Error::other("injected mid-stream drop")))
            .await;
    }

    /// Applies an injected fault due before token `index`; true if the stream ended.
    async fn strike(
        &self,
        fault: Option<StreamFault>,
        index: u64,
        framing: &mut impl Framing,
    ) -> bool {
        match fault {
            Some(StreamFault::Drop { after_tokens }) if index == after_tokens => {
                self.cut().await;
                true
            }
            Some(StreamFault::Throttle { after_tokens }) if index == after_tokens => {
                let _ = self.0.send(Ok(framing.throttle())).await;
                true
            }
            _ => false,
        }
    }
}

/// A streamed response fed by `produce` through a channel. When the client goes away the
/// producing task ends, and with it the generation (freeing concurrency and quota).
fn streamed<F>(content_type: &str, produce: impl FnOnce(Sink) -> F) -> Response
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let (sender, receiver) = mpsc::channel::<Chunk>(16);
    tokio::spawn(produce(Sink(sender)));
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        let chunk = receiver.recv().await?;
        Some((chunk, receiver))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from_stream(body))
        .expect("a valid response")
}

/// Tokens at the profile's pace, filler text.
pub fn paced(
    mut generation: Generation,
    mut framing: impl Framing,
    content_type: &str,
) -> Response {
    streamed(content_type, |sink| async move {
        // Absolute deadlines, so the timer's millisecond rounding never accumulates.
        let mut due = generation.start + generation.ttft;
        for index in 0..generation.output_tokens {
            tokio::time::sleep_until(due.into()).await;
            due += generation.step_now();
            if sink.strike(generation.fault, index, &mut framing).await {
                return;
            }
            let mut frames = if index == 0 {
                framing.start(&generation)
            } else {
                Vec::new()
            };
            let last = index + 1 == generation.output_tokens;
            frames.extend(framing.token(&generation, index, text::token(index), last));
            if !sink.send_all(frames).await {
                return;
            }
            generation.produced(index + 1);
        }
        generation.settle();
        let latency_ms = generation.start.elapsed().as_millis() as u64;
        sink.send_all(framing.finish(&generation, latency_ms)).await;
    })
}

/// The upstream's tokens as they arrive; its token counts replace the emulator's estimates.
pub fn relayed(
    mut generation: Generation,
    mut pieces: PieceStream,
    mut framing: impl Framing,
    content_type: &str,
) -> Response {
    streamed(content_type, |sink| async move {
        let mut index = 0;
        let mut counted = None;
        while let Some(piece) = pieces.next().await {
            match piece {
                Ok(Piece::Text(text)) => {
                    if sink.strike(generation.fault, index, &mut framing).await {
                        return;
                    }
                    let mut frames = Vec::new();
                    if index == 0 {
                        generation.ttft = generation.start.elapsed();
                        frames = framing.start(&generation);
                    }
                    frames.extend(framing.token(&generation, index, &text, false));
                    if !sink.send_all(frames).await {
                        return;
                    }
                    index += 1;
                    generation.produced(index);
                }
                Ok(Piece::Usage { input, output }) => counted = Some((input, output)),
                Err(error) => {
                    let _ = sink
                        .0
                        .send(Ok(framing.stream_error(&error.to_string())))
                        .await;
                    return;
                }
            }
        }
        settle_counts(&mut generation, counted, index);
        generation.settle();
        let latency_ms = generation.start.elapsed().as_millis() as u64;
        sink.send_all(framing.finish(&generation, latency_ms)).await;
    })
}

/// A streamed answer in proxy mode when an upstream is given, else paced from the profile.
pub async fn stream_answer(
    upstream: Option<&Upstream>,
    service: Service,
    prompt: &Prompt,
    generation: Generation,
    framing: impl Framing,
    content_type: &str,
) -> Response {
    match upstream {
        None => paced(generation, framing, content_type),
        Some(upstream) => match upstream.open(prompt, service).await {
            Ok(pieces) => relayed(generation, pieces, framing, content_type),
            Err(error) => error.into_response(),
        },
    }
}

/// A whole answer for a non-streaming operation: the profile's filler once it would have been
/// generated, or the upstream's text and token counts.
pub async fn whole_answer(
    upstream: Option<&Upstream>,
    service: Service,
    prompt: &Prompt,
    generation: &mut Generation,
) -> Result<String, AwsError> {
    let Some(upstream) = upstream else {
        let last = generation.output_tokens.max(1) - 1;
        tokio::time::sleep_until(generation.due(last).into()).await;
        generation.produced(generation.output_tokens);
        return Ok(text::generated_text(generation.output_tokens));
    };
    let mut pieces = upstream.open(prompt, service).await?;
    let mut answer = String::new();
    let mut chunks = 0;
    let mut counted = None;
    let mut first: Option<Instant> = None;
    while let Some(piece) = pieces.next().await {
        match piece.map_err(|error| stream_failed(service, &error))? {
            Piece::Text(text) => {
                first.get_or_insert_with(Instant::now);
                answer.push_str(&text);
                chunks += 1;
            }
            Piece::Usage { input, output } => counted = Some((input, output)),
        }
    }
    if let Some(first) = first {
        generation.ttft = first - generation.start;
    }
    settle_counts(generation, counted, chunks);
    Ok(answer)
}

/// The upstream's counts when it reported them, else its chunks (one token each on
/// llama-server and vLLM) and the emulator's input estimate.
fn settle_counts(generation: &mut Generation, counted: Option<(u64, u64)>, chunks: u64) {
    match counted {
        Some((input, output)) => {
            generation.input_tokens = input;
            generation.output_tokens = output;
        }
        None => generation.output_tokens = chunks,
    }
    generation.produced(generation.output_tokens);
}
