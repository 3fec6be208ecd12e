//! Bedrock's bedrock-mantle endpoint on the emulator: OpenAI Chat Completions and Anthropic
//! Messages over plain HTTP (reqwest), with mantle's separate input- and output-TPM quotas,
//! the prompt cache whose reads do not count against input TPM, and the API key.

mod support;

use llmcap::emulate::{Emulator, EmulatorConfig};
use llmcap::quota::bucket::MantleLimits;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use support::{bedrock_client, fast_profile, max_tokens, user, FAST_MODEL};

async fn emulator(configure: impl FnOnce(&mut EmulatorConfig)) -> Emulator {
    let mut config = EmulatorConfig::new(fast_profile());
    configure(&mut config);
    Emulator::start(config).await.unwrap()
}

fn mantle_quota(input_tpm: f64, output_tpm: f64) -> impl FnOnce(&mut EmulatorConfig) {
    move |config| {
        config.mantle_quota = Some(MantleLimits {
            input_tpm,
            output_tpm,
        })
    }
}

/// A response's status, `retry-after` header and body (JSON, or the raw text as a string).
struct Reply {
    status: StatusCode,
    retry_after: Option<u64>,
    body: Value,
    text: String,
}

async fn post(emulator: &Emulator, path: &str, key: Option<(&str, &str)>, body: &Value) -> Reply {
    let mut request = Client::new()
        .post(format!("{}{path}", emulator.url()))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some((header, value)) = key {
        request = request.header(header, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        retry_after,
        body,
        text,
    }
}

const BEARER: (&str, &str) = ("authorization", "Bearer test");
const X_API_KEY: (&str, &str) = ("x-api-key", "test");

async fn chat(emulator: &Emulator, body: Value) -> Reply {
    post(emulator, "/v1/chat/completions", Some(BEARER), &body).await
}

async fn messages(emulator: &Emulator, body: Value) -> Reply {
    post(emulator, "/v1/messages", Some(X_API_KEY), &body).await
}

fn chat_body(prompt: &str, max_tokens: u64) -> Value {
    json!({"model": FAST_MODEL, "max_tokens": max_tokens,
           "messages": [{"role": "user", "content": prompt}]})
}

/// `data:` payloads of an SSE body (and the `event:` names, for Anthropic's).
fn sse(text: &str) -> (Vec<String>, Vec<String>) {
    let events = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .map(str::to_string)
        .collect();
    let data = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(str::to_string)
        .collect();
    (events, data)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_completions_answer_and_stream_with_usage() {
    let emulator = emulator(|_| {}).await;
    let prompt = "a".repeat(400); // 100 tokens by the emulator's estimate
    let reply = chat(&emulator, chat_body(&prompt, 7)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let body = reply.body;
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert!(!body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .is_empty());
    assert_eq!(body["choices"][0]["finish_reason"], "length");
    let usage = &body["usage"];
    assert_eq!(
        (
            usage["prompt_tokens"].as_u64(),
            usage["completion_tokens"].as_u64(),
            usage["total_tokens"].as_u64()
        ),
        (Some(100), Some(7), Some(107))
    );
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 0);

    let mut streamed = chat_body("hello", 5);
    streamed["stream"] = json!(true);
    streamed["stream_options"] = json!({"include_usage": true});
    // max_completion_tokens wins over max_tokens, as on OpenAI's API.
    streamed["max_completion_tokens"] = json!(4);
    let reply = chat(&emulator, streamed).await;
    assert_eq!(reply.status, StatusCode::OK);
    let (_, data) = sse(&reply.text);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, llmcap::emulate::text::generated_text(4));
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "length");
    let last = &chunks[chunks.len() - 1];
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"]["completion_tokens"], 4);
    assert_eq!(last["usage"]["prompt_tokens"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_answer_and_stream_anthropics_events() {
    let emulator = emulator(|_| {}).await;
    let body = json!({"model": FAST_MODEL, "max_tokens": 6, "system": "be brief",
                      "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]});
    let reply = messages(&emulator, body.clone()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.body["type"], "message");
    assert_eq!(reply.body["role"], "assistant");
    assert_eq!(reply.body["content"][0]["type"], "text");
    assert_eq!(reply.body["stop_reason"], "max_tokens");
    assert_eq!(
        reply.body["usage"],
        json!({"input_tokens": 3, "output_tokens": 6, "cache_read_input_tokens": 0,
               "cache_creation_input_tokens": 0})
    );

    let mut streamed = body;
    streamed["stream"] = json!(true);
    let reply = messages(&emulator, streamed).await;
    assert_eq!(reply.status, StatusCode::OK);
    let (events, data) = sse(&reply.text);
    let mut kinds = events.clone();
    kinds.dedup();
    assert_eq!(
        kinds,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert_eq!(events.len(), data.len());
    let delta: Value = serde_json::from_str(&data[events.len() - 2]).unwrap();
    assert_eq!(delta["usage"]["output_tokens"], 6);
    assert_eq!(delta["delta"]["stop_reason"], "max_tokens");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_tpm_throttles_while_input_tpm_has_room() {
    // 20 output tokens a minute and a million input tokens: a 25-token reply spends the output
    // bucket, and the next request, tiny against input TPM, is refused for output.
    let emulator = emulator(mantle_quota(1_000_000.0, 20.0)).await;
    let first = chat(&emulator, chat_body("hi", 25)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body["usage"]["completion_tokens"], 25);

    let refused = chat(&emulator, chat_body("hi", 1)).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    let error = &refused.body["error"];
    assert_eq!(error["type"], "rate_limit_error");
    assert_eq!(error["code"], "rate_limit_exceeded");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("output tokens per minute"), "{message}");
    // The bucket is 5 tokens in debt (less what refilled), refilled at 20/60 a second: back
    // above zero within 15 s.
    let wait = refused.retry_after.expect("a retry-after header");
    assert!((1..=16).contains(&wait), "{wait}");

    // The same quota refuses Anthropic Messages, in Anthropic's shape.
    let refused = messages(
        &emulator,
        json!({"model": FAST_MODEL, "max_tokens": 1,
               "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.body["type"], "error");
    assert_eq!(refused.body["error"]["type"], "rate_limit_error");
    assert!(refused.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("output tokens per minute"));
    assert!(refused.retry_after.is_some());

    // bedrock-runtime has its own quota (none here): Converse is still served.
    let out = bedrock_client(&emulator.url())
        .converse()
        .model_id(FAST_MODEL)
        .messages(user("hi"))
        .inference_config(max_tokens(3))
        .send()
        .await
        .expect("the runtime paths do not share mantle's quota");
    assert_eq!(out.usage().unwrap().output_tokens(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_tpm_throttles_while_output_tpm_has_room() {
    // 1,000 input tokens a minute: an 800-token prompt is charged 800, so the same request
    // again (800 + max_tokens 10) does not fit, while output TPM has lots of room.
    let emulator = emulator(mantle_quota(1_000.0, 1_000_000.0)).await;
    let prompt = "a".repeat(3_200);
    let first = chat(&emulator, chat_body(&prompt, 10)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.body["usage"]["prompt_tokens"], 800);

    let refused = chat(&emulator, chat_body(&prompt, 10)).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    let message = refused.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("input tokens per minute"), "{message}");
    // 810 asked, about 200 left, refilled at 1,000/60 a second: about 36.6 s.
    let wait = refused.retry_after.expect("a retry-after header");
    assert!((30..=37).contains(&wait), "{wait}");

    // What is left of the input bucket still admits a small request.
    let small = chat(&emulator, chat_body("hi", 10)).await;
    assert_eq!(small.status, StatusCode::OK, "{}", small.text);

    // max_tokens counts at admission: a short prompt asking for more than the bucket holds is
    // refused for input, never admitted (no retry-after: it can never fit).
    let never = chat(&emulator, chat_body("hi", 2_000)).await;
    assert_eq!(never.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(never.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("input tokens per minute"));
    assert_eq!(never.retry_after, None);

    // Without max_tokens the model's maximum is reserved (the fast profile names no limits:
    // the 128k window less the prompt), so even "hi" is refused.
    let unset = chat(
        &emulator,
        json!({"model": FAST_MODEL, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(unset.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(unset.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("lower max_tokens"));
}

fn cached_system_body(system: &str, cache: bool) -> Value {
    let mut block = json!({"type": "text", "text": system});
    if cache {
        block["cache_control"] = json!({"type": "ephemeral"});
    }
    json!({"model": FAST_MODEL, "max_tokens": 10, "system": [block],
           "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_system_prompt_is_admitted_where_the_full_prompt_would_not_be() {
    // 3,000 input tokens a minute; a 2,000-token system prompt. The first request writes the
    // cache (2,001 + 10 reserved, 2,001 charged); each later one reads it and asks only 1 + 10
    // of input TPM, so five more are admitted, where the full prompt would not fit again.
    let emulator = emulator(mantle_quota(3_000.0, 1_000_000.0)).await;
    let system = "s".repeat(8_000);
    let first = messages(&emulator, cached_system_body(&system, true)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(
        first.body["usage"],
        json!({"input_tokens": 1, "output_tokens": 10, "cache_read_input_tokens": 0,
               "cache_creation_input_tokens": 2_000})
    );
    for _ in 0..5 {
        let again = messages(&emulator, cached_system_body(&system, true)).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.text);
        assert_eq!(
            again.body["usage"],
            json!({"input_tokens": 1, "output_tokens": 10, "cache_read_input_tokens": 2_000,
                   "cache_creation_input_tokens": 0})
        );
    }
    // Without its breakpoint the same prompt is all uncached input, and does not fit.
    let uncached = messages(&emulator, cached_system_body(&system, false)).await;
    assert_eq!(uncached.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(uncached.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("input tokens per minute"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_completions_cache_system_prompts_of_1024_tokens_or_more() {
    let emulator = emulator(|_| {}).await;
    let body = |system: &str| {
        json!({"model": FAST_MODEL, "max_tokens": 2,
               "messages": [{"role": "system", "content": system},
                            {"role": "user", "content": "hi"}]})
    };
    let cached =
        |reply: &Reply| reply.body["usage"]["prompt_tokens_details"]["cached_tokens"].clone();
    let long = "l".repeat(4_400); // 1,100 tokens
    assert_eq!(cached(&chat(&emulator, body(&long)).await), 0);
    let again = chat(&emulator, body(&long)).await;
    assert_eq!(cached(&again), 1_100);
    assert_eq!(again.body["usage"]["prompt_tokens"], 1_101);
    let short = "s".repeat(400); // 100 tokens: below the minimum, never cached
    assert_eq!(cached(&chat(&emulator, body(&short)).await), 0);
    assert_eq!(cached(&chat(&emulator, body(&short)).await), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_missing_key_is_refused_in_each_apis_shape() {
    let emulator = emulator(|config| config.api_key = "right-key".to_string()).await;
    let chat_request = chat_body("hi", 2);
    let anthropic_request = json!({"model": FAST_MODEL, "max_tokens": 2,
                                   "messages": [{"role": "user", "content": "hi"}]});

    for key in [Some(("authorization", "Bearer wrong")), None] {
        let refused = post(&emulator, "/v1/chat/completions", key, &chat_request).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert_eq!(refused.body["error"]["type"], "invalid_request_error");
        assert_eq!(refused.body["error"]["code"], "invalid_api_key");
    }
    for key in [Some(("x-api-key", "wrong")), None] {
        let refused = post(&emulator, "/v1/messages", key, &anthropic_request).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert_eq!(refused.body["type"], "error");
        assert_eq!(refused.body["error"]["type"], "authentication_error");
    }
    let message = post(
        &emulator,
        "/v1/messages",
        Some(("x-api-key", "wrong")),
        &anthropic_request,
    )
    .await;
    assert_eq!(message.body["error"]["message"], "invalid x-api-key");

    // The configured key, either way, on either path.
    let bearer = ("authorization", "Bearer right-key");
    let served = post(
        &emulator,
        "/v1/chat/completions",
        Some(bearer),
        &chat_request,
    )
    .await;
    assert_eq!(served.status, StatusCode::OK, "{}", served.text);
    let served = post(&emulator, "/v1/messages", Some(bearer), &anthropic_request).await;
    assert_eq!(served.status, StatusCode::OK, "{}", served.text);
    let x_api_key = ("x-api-key", "right-key");
    let served = post(
        &emulator,
        "/v1/messages",
        Some(x_api_key),
        &anthropic_request,
    )
    .await;
    assert_eq!(served.status, StatusCode::OK, "{}", served.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_are_refused_in_each_apis_shape() {
    let emulator = emulator(|_| {}).await;
    let not_json = Client::new()
        .post(format!("{}/v1/chat/completions", emulator.url()))
        .header("authorization", "Bearer test")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    let body: Value = not_json.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let no_max_tokens = messages(
        &emulator,
        json!({"model": FAST_MODEL, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(no_max_tokens.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_max_tokens.body["error"]["type"], "invalid_request_error");
    assert_eq!(
        no_max_tokens.body["error"]["message"],
        "max_tokens: Field required"
    );

    let zero = chat(&emulator, chat_body("hi", 0)).await;
    assert_eq!(zero.status, StatusCode::BAD_REQUEST);
    assert_eq!(zero.body["error"]["type"], "invalid_request_error");

    let no_messages = chat(&emulator, json!({"model": FAST_MODEL})).await;
    assert_eq!(no_messages.status, StatusCode::BAD_REQUEST);

    let bad_cache = messages(
        &emulator,
        json!({"model": FAST_MODEL, "max_tokens": 2,
               "system": [{"type": "text", "text": "x", "cache_control": {"type": "forever"}}],
               "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(bad_cache.status, StatusCode::BAD_REQUEST);

    let unknown = chat(
        &emulator,
        json!({"model": "no.such-model", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body["error"]["code"], "model_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_reply_is_charged_before_its_last_event() {
    // A 25-token stream spends 20 output tokens a minute; a request sent as soon as its
    // message_stop has arrived already meets the spent bucket.
    let emulator = emulator(mantle_quota(1_000_000.0, 20.0)).await;
    let body = json!({"model": FAST_MODEL, "max_tokens": 25, "stream": true,
                      "messages": [{"role": "user", "content": "hi"}]});
    let streamed = messages(&emulator, body).await;
    assert_eq!(streamed.status, StatusCode::OK);
    assert!(streamed.text.contains("event: message_stop"));
    let refused = messages(
        &emulator,
        json!({"model": FAST_MODEL, "max_tokens": 1,
               "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("output tokens per minute"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_take_each_apis_shape() {
    let emulator = emulator(|config| config.faults.error_rate = 1.0).await;
    let openai = chat(&emulator, chat_body("hi", 2)).await;
    assert_eq!(openai.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(openai.body["error"]["type"], "server_error");
    let anthropic = messages(
        &emulator,
        json!({"model": FAST_MODEL, "max_tokens": 2,
               "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(anthropic.status.as_u16(), 529);
    assert_eq!(anthropic.body["error"]["type"], "overloaded_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_mode_answers_with_the_upstreams_text_and_counts() {
    use llmcap::calibrate::fixed_server::{FixedLatency, FixedServer};
    let server = FixedServer::start(
        FixedLatency {
            ttft: std::time::Duration::from_millis(20),
            itl: std::time::Duration::from_millis(2),
            throttle_every: None,
            slots: None,
        },
        0,
    )
    .await
    .unwrap();
    let emulator = emulator(|config| config.upstream_url = Some(server.url())).await;
    // 30 characters: the fixed-latency upstream counts ⌊30 / 4⌋ = 7 prompt tokens.
    let prompt = "thirty characters of a prompt!";
    let reply = chat(&emulator, chat_body(prompt, 3)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.body["choices"][0]["message"]["content"],
        "tok tok tok "
    );
    assert_eq!(reply.body["usage"]["prompt_tokens"], 7);
    assert_eq!(reply.body["usage"]["completion_tokens"], 3);
    let mut streamed = json!({"model": FAST_MODEL, "max_tokens": 4, "stream": true,
                              "messages": [{"role": "user", "content": prompt}]});
    let reply = messages(&emulator, streamed.take()).await;
    assert_eq!(reply.status, StatusCode::OK);
    let (_, data) = sse(&reply.text);
    let text: String = data
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|d| d["delta"]["text"].as_str().map(str::to_string))
        .collect();
    assert_eq!(text, "tok ".repeat(4));
    assert!(reply.text.contains("event: message_stop"));
}
