//! Every Bedrock Runtime operation the emulator serves, called through the real
//! aws-sdk-bedrockruntime client, with its responses and errors parsed by the SDK.

mod support;

use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{
    ContentBlockDelta, ConverseStreamOutput, ResponseStream, StopReason,
};
use aws_sdk_bedrockruntime::Client;
use llmcap::emulate::{Emulator, EmulatorConfig};
use llmcap::quota::bucket::QuotaLimits;
use serde_json::{json, Value};
use support::{bedrock_client, fast_profile, max_tokens, user, FAST_MODEL};

async fn emulator(configure: impl FnOnce(&mut EmulatorConfig)) -> (Emulator, Client) {
    let mut config = EmulatorConfig::new(fast_profile());
    configure(&mut config);
    let emulator = Emulator::start(config).await.unwrap();
    let client = bedrock_client(&emulator.url());
    (emulator, client)
}

/// A converse call that must succeed: the server is still serving.
async fn still_serving(client: &Client) {
    let out = client
        .converse()
        .model_id(FAST_MODEL)
        .messages(user("still there?"))
        .inference_config(max_tokens(3))
        .send()
        .await
        .expect("the emulator keeps serving after an error");
    assert_eq!(out.usage().unwrap().output_tokens(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converse_answers_with_text_usage_and_stop_reason() {
    let (_emulator, client) = emulator(|_| {}).await;
    let prompt = "a".repeat(400); // 100 tokens by the emulator's 4-characters estimate
    let out = client
        .converse()
        .model_id(FAST_MODEL)
        .messages(user(&prompt))
        .inference_config(max_tokens(12))
        .send()
        .await
        .unwrap();
    let usage = out.usage().unwrap();
    assert_eq!(usage.input_tokens(), 100);
    assert_eq!(usage.output_tokens(), 12);
    assert_eq!(usage.total_tokens(), 112);
    assert_eq!(out.stop_reason(), &StopReason::MaxTokens);
    let text = match out.output().unwrap().as_message().unwrap().content()[0].as_text() {
        Ok(text) => text.clone(),
        Err(_) => panic!("a text block"),
    };
    assert!(!text.is_empty());
    assert!(out.metrics().unwrap().latency_ms() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converse_stream_sends_the_services_event_sequence() {
    let (_emulator, client) = emulator(|_| {}).await;
    let mut out = client
        .converse_stream()
        .model_id(FAST_MODEL)
        .messages(user("hello there"))
        .inference_config(max_tokens(10))
        .send()
        .await
        .unwrap();
    let mut kinds = Vec::new();
    let mut text = String::new();
    let mut usage = None;
    while let Some(event) = out.stream.recv().await.unwrap() {
        match &event {
            ConverseStreamOutput::MessageStart(_) => kinds.push("messageStart"),
            ConverseStreamOutput::ContentBlockDelta(d) => {
                if let Some(ContentBlockDelta::Text(t)) = d.delta() {
                    text.push_str(t);
                }
                kinds.push("contentBlockDelta")
            }
            ConverseStreamOutput::ContentBlockStop(_) => kinds.push("contentBlockStop"),
            ConverseStreamOutput::MessageStop(m) => {
                assert_eq!(m.stop_reason(), &StopReason::MaxTokens);
                kinds.push("messageStop")
            }
            ConverseStreamOutput::Metadata(m) => {
                usage = m.usage().cloned();
                assert!(m.metrics().unwrap().latency_ms() > 0);
                kinds.push("metadata")
            }
            _ => kinds.push("other"),
        }
    }
    let mut expected = vec!["messageStart"];
    expected.extend(std::iter::repeat_n("contentBlockDelta", 10));
    expected.extend(["contentBlockStop", "messageStop", "metadata"]);
    assert_eq!(kinds, expected);
    assert!(!text.is_empty());
    let usage = usage.unwrap();
    assert_eq!((usage.input_tokens(), usage.output_tokens()), (3, 10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_model_answers_anthropic_and_llama_bodies() {
    let (_emulator, client) = emulator(|c| {
        c.model_ids = vec![
            "anthropic.claude-3-5-haiku-20241022-v1:0".into(),
            "meta.llama3-3-70b-instruct-v1:0".into(),
        ]
    })
    .await;
    let anthropic = json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 7,
                           "messages": [{"role": "user", "content": "12345678"}]});
    let out = client
        .invoke_model()
        .model_id("anthropic.claude-3-5-haiku-20241022-v1:0")
        .content_type("application/json")
        .body(Blob::new(anthropic.to_string()))
        .send()
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(out.body().as_ref()).unwrap();
    assert_eq!(body["type"], "message");
    assert_eq!(body["stop_reason"], "max_tokens");
    assert_eq!(body["usage"]["input_tokens"], 2);
    assert_eq!(body["usage"]["output_tokens"], 7);
    assert!(body["content"][0]["text"].as_str().unwrap().len() > 7);

    let llama = json!({"prompt": "abcdefgh", "max_gen_len": 5});
    let out = client
        .invoke_model()
        .model_id("meta.llama3-3-70b-instruct-v1:0")
        .body(Blob::new(llama.to_string()))
        .send()
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(out.body().as_ref()).unwrap();
    assert_eq!(body["generation_token_count"], 5);
    assert_eq!(body["prompt_token_count"], 2);
    assert_eq!(body["stop_reason"], "length");
}

/// The decoded JSON chunks of an InvokeModelWithResponseStream answer.
async fn stream_chunks(client: &Client, model: &str, body: Value) -> Vec<Value> {
    let mut out = client
        .invoke_model_with_response_stream()
        .model_id(model)
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .unwrap();
    let mut chunks = Vec::new();
    while let Some(event) = out.body.recv().await.unwrap() {
        if let ResponseStream::Chunk(part) = event {
            chunks.push(serde_json::from_slice(part.bytes().unwrap().as_ref()).unwrap());
        }
    }
    chunks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_model_with_response_stream_sends_native_chunks() {
    let (_emulator, client) = emulator(|c| c.accept_any_model = true).await;
    let anthropic = stream_chunks(
        &client,
        "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
        json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 6,
               "messages": [{"role": "user", "content": [{"type": "text", "text": "abcd"}]}]}),
    )
    .await;
    let types: Vec<&str> = anthropic
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(types[..2], ["message_start", "content_block_start"]);
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == "content_block_delta")
            .count(),
        6
    );
    assert_eq!(
        types[types.len() - 3..],
        ["content_block_stop", "message_delta", "message_stop"]
    );
    let last = anthropic.last().unwrap();
    assert_eq!(
        last["amazon-bedrock-invocationMetrics"]["outputTokenCount"],
        6
    );
    assert_eq!(
        last["amazon-bedrock-invocationMetrics"]["inputTokenCount"],
        1
    );

    let llama = stream_chunks(
        &client,
        "meta.llama3-1-8b-instruct-v1:0",
        json!({"prompt": "abcdefgh", "max_gen_len": 4}),
    )
    .await;
    assert_eq!(llama.len(), 5, "4 tokens and a final chunk");
    assert_eq!(llama[0]["prompt_token_count"], 2);
    assert_eq!(llama[4]["stop_reason"], "length");
    assert_eq!(
        llama[4]["amazon-bedrock-invocationMetrics"]["outputTokenCount"],
        4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_quota_throttles_with_429() {
    // 150 tokens per minute; each request reserves 100 input + 20 max tokens.
    let (_emulator, client) = emulator(|c| {
        c.quota = Some(QuotaLimits {
            tpm: 150.0,
            rpm: None,
            tpd: None,
            output_burndown: 1.0,
            headroom: 1.0,
        })
    })
    .await;
    let prompt = "a".repeat(400);
    let call = || {
        client
            .converse_stream()
            .model_id(FAST_MODEL)
            .messages(user(&prompt))
            .inference_config(max_tokens(20))
            .send()
    };
    let first = call().await;
    assert!(first.is_ok());
    let error = call()
        .await
        .expect_err("the bucket holds 30 tokens, not 120");
    let service = error.as_service_error().expect("a service error");
    assert!(service.is_throttling_exception(), "{service:?}");
    assert_eq!(error.raw_response().unwrap().status().as_u16(), 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttle_inside_the_stream_reaches_the_sdk_as_a_throttling_exception() {
    let (emulator, client) = emulator(|c| c.faults.stream_throttle_rate = 1.0).await;
    let mut out = client
        .converse_stream()
        .model_id(FAST_MODEL)
        .messages(user("hello"))
        .inference_config(max_tokens(8))
        .send()
        .await
        .unwrap();
    let mut deltas = 0;
    let error = loop {
        match out.stream.recv().await {
            Ok(Some(ConverseStreamOutput::ContentBlockDelta(_))) => deltas += 1,
            Ok(Some(_)) => {}
            Ok(None) => panic!("the stream ended without the injected throttle"),
            Err(error) => break error,
        }
    };
    assert_eq!(deltas, 4, "the throttle comes half-way");
    let service = error.as_service_error().expect("a modelled stream error");
    assert!(service.is_throttling_exception(), "{service:?}");
    drop(out);
    drop(emulator);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_validation_exceptions_and_the_server_keeps_serving() {
    let (_emulator, client) = emulator(|_| {}).await;
    let malformed = client
        .invoke_model()
        .model_id(FAST_MODEL)
        .body(Blob::new("{not json"))
        .send()
        .await
        .unwrap_err();
    assert!(malformed
        .as_service_error()
        .unwrap()
        .is_validation_exception());
    still_serving(&client).await;

    let unknown = client
        .converse()
        .model_id("no.such-model-v9:0")
        .messages(user("hi"))
        .send()
        .await
        .unwrap_err();
    let unknown = unknown.as_service_error().unwrap();
    assert!(unknown.is_validation_exception());
    assert!(unknown.to_string().contains("model identifier is invalid"));
    still_serving(&client).await;

    let oversized = client
        .invoke_model()
        .model_id(FAST_MODEL)
        .body(Blob::new(vec![b' '; 25_000_001]))
        .send()
        .await
        .unwrap_err();
    let oversized = oversized.as_service_error().unwrap();
    assert!(oversized.is_validation_exception(), "{oversized:?}");
    assert!(oversized.to_string().contains("25000000"), "{oversized}");
    still_serving(&client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_faults_come_back_as_the_services_exceptions() {
    let (_emulator, not_ready) = emulator(|c| c.faults.not_ready_s = 3600.0).await;
    let error = not_ready
        .converse()
        .model_id(FAST_MODEL)
        .messages(user("hi"))
        .send()
        .await
        .unwrap_err();
    assert!(error
        .as_service_error()
        .unwrap()
        .is_model_not_ready_exception());

    let (_emulator, unavailable) = emulator(|c| c.faults.error_rate = 1.0).await;
    let error = unavailable
        .converse_stream()
        .model_id(FAST_MODEL)
        .messages(user("hi"))
        .send()
        .await
        .unwrap_err();
    let service = error.as_service_error().unwrap();
    assert!(service.is_service_unavailable_exception(), "{service:?}");
    assert_eq!(error.raw_response().unwrap().status().as_u16(), 503);
}
