//! OpenAI-compatible streaming chat completions: vLLM, TGI, llama.cpp's llama-server, SGLang,
//! Bedrock's OpenAI-compatible endpoint. Usage comes from `stream_options.include_usage`.
//!
//! The stream is parsed with eventsource-stream rather than an EventSource client, because an
//! EventSource reconnects on its own — wrong for a load tester, which must count every attempt.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use serde_json::{json, Value};

use super::chunks::apply_openai_chunk;
use super::{
    ErrorKind, Exchange, ExchangeRecorder, Target, TargetError, TargetInfo, TargetRequest,
};

pub struct OpenAiTarget {
    client: reqwest::Client,
    /// Keeps no connections: a retry after a stale pooled one goes out on its own.
    fresh: reqwest::Client,
    completions_url: String,
    api_key: Option<String>,
    info: TargetInfo,
}

/// `http://host:port`, `…/v1` or a full `…/chat/completions` URL → the completions URL.
pub fn completions_url(base: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with("/chat/completions") {
        base.to_string()
    } else if base.ends_with("/v1") {
        format!("{base}/chat/completions")
    } else {
        format!("{base}/v1/chat/completions")
    }
}

fn models_url(completions_url: &str) -> String {
    format!(
        "{}/models",
        completions_url.trim_end_matches("/chat/completions")
    )
}

impl OpenAiTarget {
    /// `model`: the served model name; when `None`, the first id from `GET /v1/models`.
    /// `api_key`: sent as a bearer token, never recorded.
    pub async fn connect(
        url: &str,
        model: Option<String>,
        api_key: Option<String>,
        max_connections: usize,
    ) -> Result<OpenAiTarget, TargetError> {
        let client = http_client(max_connections).map_err(TargetError::HttpClient)?;
        let fresh = http_client(0).map_err(TargetError::HttpClient)?;
        let completions_url = completions_url(url);
        let model = match model {
            Some(model) => model,
            None => {
                discover_model(
                    &client,
                    &completions_url,
                    api_key.as_deref(),
                    "--model",
                    DISCOVERY_DEADLINE,
                )
                .await?
            }
        };
        Ok(OpenAiTarget {
            client,
            fresh,
            info: TargetInfo {
                target: "openai".into(),
                model_id: model,
                endpoint: completions_url.clone(),
                region: None,
                paid_per_token: false,
            },
            completions_url,
            api_key,
        })
    }

    fn body(&self, request: &TargetRequest) -> Value {
        let mut body = json!({
            "model": self.info.model_id,
            "messages": [{"role": "user", "content": request.prompt}],
            "max_tokens": request.max_tokens,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        if request.fixed_output {
            // vLLM and llama-server honour these; servers that do not simply ignore them, and
            // early stops are then counted per request.
            body["ignore_eos"] = json!(true);
            body["min_tokens"] = json!(request.max_tokens);
        }
        body
    }

    async fn exchange(&self, request: &TargetRequest) -> Exchange {
        let body = self.body(request);
        let post = |client: &reqwest::Client| {
            let http = client.post(&self.completions_url).json(&body);
            match &self.api_key {
                Some(key) => http.bearer_auth(key),
                None => http,
            }
        };
        let mut recorder = ExchangeRecorder::start();
        let mut pending = post(&self.client).send();
        let response = loop {
            match pending.await {
                Ok(response) => break response,
                // A pooled keep-alive connection the server closed just as we picked it: the
                // request never reached the server, so a fresh attempt, on a connection of its
                // own, is fair (and counted).
                Err(error)
                    if is_stale_connection(&error) && recorder.attempts() < STALE_ATTEMPTS =>
                {
                    recorder.restart();
                    pending = post(&self.fresh).send();
                }
                Err(error) => {
                    let kind = if error.is_timeout() {
                        ErrorKind::Timeout
                    } else {
                        ErrorKind::ClientError
                    };
                    recorder.fail(kind, format!("request failed: {}", error_chain(&error)));
                    return recorder.finish();
                }
            }
        };
        let status = response.status();
        if !status.is_success() {
            let text = read_capped(response, ERROR_BODY_CAP).await.text;
            recorder.fail(
                ErrorKind::from_status(status.as_u16()),
                format!(
                    "HTTP {status}: {}",
                    text.chars().take(300).collect::<String>()
                ),
            );
            return recorder.finish();
        }
        // The stream is held to a size no honest reply of max_tokens reaches: an endless body
        // fails the request instead of filling memory until --timeout.
        let cap = stream_cap(request.max_tokens);
        let mut streamed = 0usize;
        let mut events = response
            .bytes_stream()
            .map(move |piece| {
                let piece = piece.map_err(|e| Capped::Http(error_chain(&e)))?;
                streamed += piece.len();
                if streamed > cap {
                    return Err(Capped::TooLarge(cap));
                }
                Ok(piece)
            })
            .eventsource();
        let mut done = false;
        while let Some(event) = events.next().await {
            match event {
                Ok(event) if event.data.trim() == "[DONE]" => {
                    done = true;
                    break;
                }
                Ok(event) => match serde_json::from_str::<Value>(&event.data) {
                    Ok(chunk) => apply_openai_chunk(&chunk, &mut recorder),
                    Err(e) => recorder.fail(
                        ErrorKind::ClientError,
                        format!("unreadable chunk ({e}): {}", event.data),
                    ),
                },
                Err(error) => {
                    recorder.fail(ErrorKind::ServerError, format!("stream broke: {error}"));
                    break;
                }
            }
            if recorder.has_failed() {
                break;
            }
        }
        if !done && !recorder.has_failed() {
            recorder.fail(
                ErrorKind::ServerError,
                "the stream ended without [DONE]".to_string(),
            );
        }
        recorder.finish()
    }
}

/// Bytes of an error response kept for its message; the rest is not read.
pub(crate) const ERROR_BODY_CAP: usize = 64 * 1024;
/// Bytes of `GET /v1/models` read at most.
const LISTING_CAP: usize = 1024 * 1024;

/// Bytes one streamed reply of `max_tokens` may take: 1 MiB, plus 8 KiB a token (an OpenAI
/// chunk is about 200–400 bytes; with log-probabilities a few KiB).
pub(crate) fn stream_cap(max_tokens: u32) -> usize {
    1024 * 1024 + 8 * 1024 * max_tokens as usize
}

/// Why a stream was cut.
#[derive(Debug, thiserror::Error)]
enum Capped {
    #[error("{0}")]
    Http(String),
    #[error(
        "the reply passed {0} bytes, more than any reply of its max_tokens; the stream was cut"
    )]
    TooLarge(usize),
}

/// What was read of a body, at most a cap.
pub(crate) struct CappedBody {
    pub text: String,
    /// The body went on past the cap (the rest was not read).
    pub truncated: bool,
    /// The body broke off with this error.
    pub error: Option<String>,
}

/// Reads at most `cap` bytes of a response body.
pub(crate) async fn read_capped(mut response: reqwest::Response, cap: usize) -> CappedBody {
    let mut bytes = Vec::new();
    let mut truncated = false;
    let mut error = None;
    loop {
        match response.chunk().await {
            Ok(Some(piece)) => {
                let room = cap - bytes.len();
                if piece.len() > room {
                    bytes.extend_from_slice(&piece[..room]);
                    truncated = true;
                    break;
                }
                bytes.extend_from_slice(&piece);
            }
            Ok(None) => break,
            Err(e) => {
                error = Some(error_chain(&e));
                break;
            }
        }
    }
    CappedBody {
        text: String::from_utf8_lossy(&bytes).into_owned(),
        truncated,
        error,
    }
}

/// The connection failed before any response arrived (reset, closed, refused on reuse).
/// Attempts a request gets when the first fails on a pooled connection the server had closed:
/// the retry goes out on a connection of its own (llama-server closes a connection after a
/// streamed reply without saying so; about one request in twenty picked such a connection).
pub(crate) const STALE_ATTEMPTS: u32 = 2;

/// The HTTP client for an OpenAI-compatible server, keeping at most `max_idle` connections;
/// with `max_idle` 0, each request opens a connection of its own.
pub(crate) fn http_client(max_idle: usize) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(max_idle)
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(10))
        .build()
}

/// A request that failed before any response on a connection that was open: the pooled
/// connection had been closed by the server.
pub(crate) fn is_stale_connection(error: &reqwest::Error) -> bool {
    error.is_request() && !error.is_timeout() && error.status().is_none() && !error.is_connect()
}

/// reqwest's Display omits the cause ("error sending request"); the chain says why.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// How long model discovery may take (`GET /v1/models`, connection to last byte).
pub const DISCOVERY_DEADLINE: Duration = Duration::from_secs(30);

/// The first model `GET /v1/models` lists, within `deadline` and [`LISTING_CAP`] bytes.
pub(crate) async fn discover_model(
    client: &reqwest::Client,
    completions_url: &str,
    api_key: Option<&str>,
    flag: &'static str,
    deadline: Duration,
) -> Result<String, TargetError> {
    let url = models_url(completions_url);
    let listing = tokio::time::timeout(deadline, fetch_listing(client, &url, api_key, flag))
        .await
        .map_err(|_| TargetError::Unreachable {
            url: url.clone(),
            flag,
            cause: format!("no complete answer within {} s", deadline.as_secs_f64()),
        })??;
    listing
        .pointer("/data/0/id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or(TargetError::NoModel { url, flag })
}

async fn fetch_listing(
    client: &reqwest::Client,
    url: &str,
    api_key: Option<&str>,
    flag: &'static str,
) -> Result<Value, TargetError> {
    let mut request = client.get(url);
    if let Some(key) = api_key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.map_err(|e| TargetError::Unreachable {
        url: url.to_string(),
        flag,
        cause: error_chain(&e),
    })?;
    if !response.status().is_success() {
        return Err(TargetError::Refused {
            url: url.to_string(),
            flag,
            status: response.status(),
        });
    }
    let body = read_capped(response, LISTING_CAP).await;
    let cause = match (body.truncated, body.error) {
        (true, _) => Some(format!("the listing is longer than {LISTING_CAP} bytes")),
        (false, Some(error)) => Some(error),
        (false, None) => None,
    };
    if let Some(cause) = cause {
        return Err(TargetError::NotJson {
            url: url.to_string(),
            flag,
            cause,
        });
    }
    serde_json::from_str(&body.text).map_err(|e| TargetError::NotJson {
        url: url.to_string(),
        flag,
        cause: e.to_string(),
    })
}

impl Target for OpenAiTarget {
    fn info(&self) -> &TargetInfo {
        &self.info
    }

    fn send<'a>(&'a self, request: &'a TargetRequest) -> BoxFuture<'a, Exchange> {
        Box::pin(self.exchange(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_become_the_completions_url() {
        let want = "http://127.0.0.1:8091/v1/chat/completions";
        assert_eq!(completions_url("http://127.0.0.1:8091"), want);
        assert_eq!(completions_url("http://127.0.0.1:8091/"), want);
        assert_eq!(completions_url("http://127.0.0.1:8091/v1"), want);
        assert_eq!(completions_url(want), want);
        assert_eq!(models_url(want), "http://127.0.0.1:8091/v1/models");
    }
}
