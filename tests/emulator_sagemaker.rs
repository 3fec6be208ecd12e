//! SageMaker Runtime through the real aws-sdk-sagemakerruntime client: InvokeEndpoint and
//! InvokeEndpointWithResponseStream in TGI and OpenAI dialects, limits and errors.

mod support;

use std::time::Duration;

use aws_sdk_sagemakerruntime::primitives::Blob;
use aws_sdk_sagemakerruntime::types::ResponseStream;
use aws_sdk_sagemakerruntime::Client;
use llmcap::calibrate::target::chunks::{apply_any_chunk, Line, LineBuffer};
use llmcap::calibrate::target::ExchangeRecorder;
use llmcap::emulate::{Emulator, EmulatorConfig, DEFAULT_ENDPOINT_NAME};
use serde_json::{json, Value};
use support::{fast_profile, sagemaker_client};

async fn emulator(configure: impl FnOnce(&mut EmulatorConfig)) -> (Emulator, Client) {
    let mut config = EmulatorConfig::new(fast_profile());
    configure(&mut config);
    let emulator = Emulator::start(config).await.unwrap();
    let client = sagemaker_client(&emulator.url());
    (emulator, client)
}

async fn invoke(client: &Client, body: Value) -> Value {
    let out = client
        .invoke_endpoint()
        .endpoint_name(DEFAULT_ENDPOINT_NAME)
        .content_type("application/json")
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .unwrap();
    serde_json::from_slice(out.body().unwrap().as_ref()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_endpoint_answers_tgi_and_openai_bodies() {
    let (_emulator, client) = emulator(|_| {}).await;
    let tgi = invoke(
        &client,
        json!({"inputs": "abcdefgh", "parameters": {"max_new_tokens": 6}}),
    )
    .await;
    assert_eq!(tgi[0]["details"]["generated_tokens"], 6);
    assert!(!tgi[0]["generated_text"].as_str().unwrap().is_empty());

    let openai = invoke(
        &client,
        json!({"messages": [{"role": "user", "content": "abcdefgh"}], "max_tokens": 5}),
    )
    .await;
    assert_eq!(openai["object"], "chat.completion");
    assert_eq!(openai["usage"]["prompt_tokens"], 2);
    assert_eq!(openai["usage"]["completion_tokens"], 5);
    assert_eq!(openai["choices"][0]["finish_reason"], "length");
}

/// Streams a body and reads the parts as calibrate does: through a line buffer, because a part
/// may split a line anywhere.
async fn stream(
    client: &Client,
    body: Value,
) -> (usize, llmcap::calibrate::target::Exchange, bool) {
    let mut out = client
        .invoke_endpoint_with_response_stream()
        .endpoint_name(DEFAULT_ENDPOINT_NAME)
        .content_type("application/json")
        .body(Blob::new(body.to_string()))
        .send()
        .await
        .unwrap();
    let mut parts = 0;
    let mut lines = LineBuffer::default();
    let mut recorder = ExchangeRecorder::start();
    let mut saw_done = false;
    while let Some(event) = out.body.recv().await.unwrap() {
        if let ResponseStream::PayloadPart(part) = event {
            parts += 1;
            for line in lines.push(part.bytes().unwrap().as_ref()) {
                match line {
                    Line::Json(v) => apply_any_chunk(&v, &mut recorder),
                    Line::Done => saw_done = true,
                    Line::Unreadable(text) => panic!("unreadable line {text}"),
                }
            }
        }
    }
    (parts, recorder.finish(), saw_done)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_streams_carry_tgi_and_openai_chunks_in_payload_parts() {
    let (_emulator, client) = emulator(|_| {}).await;
    let (parts, tgi, _) = stream(
        &client,
        json!({"inputs": "abcdefgh", "parameters": {"max_new_tokens": 9}, "stream": true}),
    )
    .await;
    assert_eq!(tgi.chunk_times.len(), 9);
    assert_eq!(tgi.output_tokens, Some(9), "TGI's final details");
    assert!(
        parts > 9,
        "some lines arrive split across two parts ({parts} parts)"
    );
    assert!(tgi.failure.is_none());

    let (_, openai, done) = stream(
        &client,
        json!({"messages": [{"role": "user", "content": "abcdefgh"}], "max_tokens": 7,
               "stream": true, "stream_options": {"include_usage": true}}),
    )
    .await;
    assert_eq!(openai.chunk_times.len(), 7);
    assert_eq!(
        (openai.input_tokens, openai.output_tokens),
        (Some(2), Some(7))
    );
    assert!(done, "the OpenAI dialect ends with [DONE]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_and_unknown_endpoints_get_the_services_errors() {
    let (_emulator, client) = emulator(|c| c.invocation_timeout = Duration::from_millis(150)).await;
    let oversized = client
        .invoke_endpoint()
        .endpoint_name(DEFAULT_ENDPOINT_NAME)
        .body(Blob::new(vec![b' '; 7 * 1024 * 1024]))
        .send()
        .await
        .unwrap_err();
    assert!(oversized.as_service_error().unwrap().is_validation_error());

    let unknown = client
        .invoke_endpoint()
        .endpoint_name("nobody-home")
        .body(Blob::new(json!({"inputs": "hi"}).to_string()))
        .send()
        .await
        .unwrap_err();
    let unknown = unknown.as_service_error().unwrap();
    assert!(unknown.is_validation_error());
    assert!(unknown.to_string().contains("nobody-home"));

    // 400 tokens at ≥ 5 ms each cannot finish within the 150 ms limit set above.
    let slow = client
        .invoke_endpoint()
        .endpoint_name(DEFAULT_ENDPOINT_NAME)
        .body(Blob::new(
            json!({"inputs": "hi", "parameters": {"max_new_tokens": 400}}).to_string(),
        ))
        .send()
        .await
        .unwrap_err();
    let slow = slow.as_service_error().unwrap();
    assert!(slow.is_model_error(), "{slow:?}");
    assert!(slow.to_string().contains("timed out"));

    let fine = invoke(
        &client,
        json!({"inputs": "hi", "parameters": {"max_new_tokens": 2}}),
    )
    .await;
    assert_eq!(fine[0]["details"]["generated_tokens"], 2, "still serving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_inside_the_stream_is_a_model_stream_error() {
    let (_emulator, client) = emulator(|c| c.faults.stream_throttle_rate = 1.0).await;
    let mut out = client
        .invoke_endpoint_with_response_stream()
        .endpoint_name(DEFAULT_ENDPOINT_NAME)
        .body(Blob::new(
            json!({"inputs": "hi", "parameters": {"max_new_tokens": 6}}).to_string(),
        ))
        .send()
        .await
        .unwrap();
    let error = loop {
        match out.body.recv().await {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the stream ended without the injected failure"),
            Err(error) => break error,
        }
    };
    assert!(error.as_service_error().unwrap().is_model_stream_error());
}
