//! Proxy mode (`--upstream`): an OpenAI-compatible server generates and the emulator re-frames
//! its stream for the real Bedrock and SageMaker SDKs. The upstream here is llmcap's
//! fixed-latency server, whose answers are recognisable: "tok " per token, TTFT as set, and
//! prompt tokens counted as ⌊characters / 4⌋ where the emulator's own estimate rounds up.
//! (tests/calibrate_llama_server.rs puts a real model behind it.)

mod support;

use std::time::{Duration, Instant};

use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{ContentBlockDelta, ConverseStreamOutput};
use aws_sdk_sagemakerruntime::types::ResponseStream;
use llmcap::calibrate::fixed_server::{FixedLatency, FixedServer};
use llmcap::calibrate::target::chunks::{apply_any_chunk, Line, LineBuffer};
use llmcap::calibrate::target::ExchangeRecorder;
use llmcap::emulate::{Emulator, EmulatorConfig, DEFAULT_ENDPOINT_NAME};
use llmcap::quota::bucket::QuotaLimits;
use serde_json::{json, Value};
use support::{
    bedrock_client, closed_port_url, fast_profile, max_tokens, sagemaker_client, user, FAST_MODEL,
};

/// 30 characters: the upstream counts 7 tokens, the emulator's estimate would say 8.
const PROMPT: &str = "thirty characters of a prompt!";
const UPSTREAM_INPUT_TOKENS: i32 = 7;
const UPSTREAM_TTFT: Duration = Duration::from_millis(150);

async fn upstream(throttle_every: Option<u64>) -> FixedServer {
    let latency = FixedLatency {
        ttft: UPSTREAM_TTFT,
        itl: Duration::from_millis(5),
        throttle_every,
        slots: None,
    };
    FixedServer::start(latency, 0).await.unwrap()
}

async fn proxy(upstream_url: &str, configure: impl FnOnce(&mut EmulatorConfig)) -> Emulator {
    let mut config = EmulatorConfig::new(fast_profile());
    config.upstream_url = Some(upstream_url.to_string());
    configure(&mut config);
    Emulator::start(config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converse_stream_carries_the_upstreams_text_timing_and_counts() {
    let server = upstream(None).await;
    let emulator = proxy(&server.url(), |_| {}).await;
    assert_eq!(emulator.upstream().unwrap().model(), "fixed-latency");
    let client = bedrock_client(&emulator.url());
    let sent = Instant::now();
    let mut out = client
        .converse_stream()
        .model_id(FAST_MODEL)
        .messages(user(PROMPT))
        .inference_config(max_tokens(6))
        .send()
        .await
        .unwrap();
    let mut kinds = Vec::new();
    let mut text = String::new();
    let mut first_delta = None;
    let mut usage = None;
    while let Some(event) = out.stream.recv().await.unwrap() {
        kinds.push(match &event {
            ConverseStreamOutput::MessageStart(_) => "messageStart",
            ConverseStreamOutput::ContentBlockDelta(d) => {
                first_delta.get_or_insert_with(|| sent.elapsed());
                if let Some(ContentBlockDelta::Text(t)) = d.delta() {
                    text.push_str(t);
                }
                "contentBlockDelta"
            }
            ConverseStreamOutput::ContentBlockStop(_) => "contentBlockStop",
            ConverseStreamOutput::MessageStop(_) => "messageStop",
            ConverseStreamOutput::Metadata(m) => {
                usage = m.usage().cloned();
                "metadata"
            }
            _ => "other",
        });
    }
    let mut expected = vec!["messageStart"];
    expected.extend(std::iter::repeat_n("contentBlockDelta", 6));
    expected.extend(["contentBlockStop", "messageStop", "metadata"]);
    assert_eq!(kinds, expected);
    assert_eq!(text, "tok ".repeat(6), "the upstream's words, not filler");
    // The profile's TTFT is ~20 ms; the first token cannot come before the upstream's.
    assert!(first_delta.unwrap() >= UPSTREAM_TTFT, "{first_delta:?}");
    let usage = usage.unwrap();
    assert_eq!(
        (usage.input_tokens(), usage.output_tokens()),
        (UPSTREAM_INPUT_TOKENS, 6)
    );
    assert_eq!(server.requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_streaming_operations_answer_with_the_upstreams_text() {
    let server = upstream(None).await;
    let emulator = proxy(&server.url(), |c| {
        c.model_ids = vec!["anthropic.claude-3-5-haiku-20241022-v1:0".into()]
    })
    .await;
    let client = bedrock_client(&emulator.url());
    let out = client
        .converse()
        .model_id(FAST_MODEL)
        .messages(user(PROMPT))
        .inference_config(max_tokens(4))
        .send()
        .await
        .unwrap();
    let usage = out.usage().unwrap();
    assert_eq!(
        (usage.input_tokens(), usage.output_tokens()),
        (UPSTREAM_INPUT_TOKENS, 4)
    );
    let content = &out.output().unwrap().as_message().unwrap().content()[0];
    assert_eq!(content.as_text().unwrap(), &"tok ".repeat(4));

    let anthropic = json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 3,
                           "messages": [{"role": "user", "content": PROMPT}]});
    let out = client
        .invoke_model()
        .model_id("anthropic.claude-3-5-haiku-20241022-v1:0")
        .content_type("application/json")
        .body(Blob::new(anthropic.to_string()))
        .send()
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(out.body().as_ref()).unwrap();
    assert_eq!(body["content"][0]["text"], "tok ".repeat(3));
    assert_eq!(body["usage"]["input_tokens"], UPSTREAM_INPUT_TOKENS);

    let sagemaker = sagemaker_client(&emulator.url());
    let out = sagemaker
        .invoke_endpoint()
        .endpoint_name(DEFAULT_ENDPOINT_NAME)
        .content_type("application/json")
        .body(aws_sdk_sagemakerruntime::primitives::Blob::new(
            json!({"inputs": PROMPT, "parameters": {"max_new_tokens": 5}}).to_string(),
        ))
        .send()
        .await
        .unwrap();
    let body: Value = serde_json::from_slice(out.body().unwrap().as_ref()).unwrap();
    assert_eq!(body[0]["generated_text"], "tok ".repeat(5));
    assert_eq!(body[0]["details"]["generated_tokens"], 5);
    assert_eq!(server.requests(), 3);
}

/// Reads a SageMaker response stream as calibrate does.
async fn sagemaker_stream(
    client: &aws_sdk_sagemakerruntime::Client,
    body: Value,
) -> (llmcap::calibrate::target::Exchange, String) {
    let mut out = client
        .invoke_endpoint_with_response_stream()
        .endpoint_name(DEFAULT_ENDPOINT_NAME)
        .content_type("application/json")
        .body(aws_sdk_sagemakerruntime::primitives::Blob::new(
            body.to_string(),
        ))
        .send()
        .await
        .unwrap();
    let mut lines = LineBuffer::default();
    let mut recorder = ExchangeRecorder::start();
    let mut last_tgi_text = String::new();
    while let Some(event) = out.body.recv().await.unwrap() {
        if let ResponseStream::PayloadPart(part) = event {
            for line in lines.push(part.bytes().unwrap().as_ref()) {
                if let Line::Json(v) = line {
                    if let Some(t) = v["generated_text"].as_str() {
                        last_tgi_text = t.to_string();
                    }
                    apply_any_chunk(&v, &mut recorder);
                }
            }
        }
    }
    (recorder.finish(), last_tgi_text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sagemaker_streams_relay_in_both_container_dialects() {
    let server = upstream(None).await;
    let emulator = proxy(&server.url(), |_| {}).await;
    let client = sagemaker_client(&emulator.url());

    let (tgi, generated) = sagemaker_stream(
        &client,
        json!({"inputs": PROMPT, "parameters": {"max_new_tokens": 8}, "stream": true}),
    )
    .await;
    assert!(tgi.failure.is_none(), "{:?}", tgi.failure);
    assert_eq!(
        tgi.chunk_times.len(),
        8,
        "the closing </s> is special, not text"
    );
    assert_eq!(tgi.output_tokens, Some(8));
    assert_eq!(generated, "tok ".repeat(8));

    let (openai, _) = sagemaker_stream(
        &client,
        json!({"messages": [{"role": "user", "content": PROMPT}], "max_tokens": 7,
               "stream": true}),
    )
    .await;
    assert!(openai.failure.is_none());
    assert_eq!(openai.chunk_times.len(), 7);
    assert_eq!(
        (openai.input_tokens, openai.output_tokens),
        (Some(UPSTREAM_INPUT_TOKENS as u64), Some(7))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_emulators_quota_still_admits_and_upstream_refusals_keep_aws_shapes() {
    // Quota: one request a minute. The second is throttled by the emulator itself and never
    // reaches the upstream.
    let server = upstream(None).await;
    let emulator = proxy(&server.url(), |c| {
        c.quota = Some(QuotaLimits {
            tpm: 1e9,
            rpm: Some(1.0),
            tpd: None,
            output_burndown: 1.0,
            headroom: 1.0,
        })
    })
    .await;
    let client = bedrock_client(&emulator.url());
    let call = || {
        client
            .converse()
            .model_id(FAST_MODEL)
            .messages(user(PROMPT))
            .inference_config(max_tokens(2))
            .send()
    };
    call().await.unwrap();
    let error = call().await.unwrap_err().into_service_error();
    assert!(error.is_throttling_exception(), "{error:?}");
    assert_eq!(server.requests(), 1);

    // The upstream's own 429 stays a throttle on Bedrock and a ModelError on SageMaker.
    let throttling = upstream(Some(1)).await;
    let emulator = proxy(&throttling.url(), |_| {}).await;
    let error = bedrock_client(&emulator.url())
        .converse_stream()
        .model_id(FAST_MODEL)
        .messages(user(PROMPT))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_throttling_exception(), "{error:?}");
    let error = sagemaker_client(&emulator.url())
        .invoke_endpoint()
        .endpoint_name(DEFAULT_ENDPOINT_NAME)
        .content_type("application/json")
        .body(aws_sdk_sagemakerruntime::primitives::Blob::new(
            json!({"inputs": PROMPT}).to_string(),
        ))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(error.is_model_error(), "{error:?}");

    // An upstream that is gone: the service is unavailable, and the emulator keeps serving.
    let emulator = proxy(&closed_port_url(), |c| {
        c.upstream_model = Some("any".into())
    })
    .await;
    let client = bedrock_client(&emulator.url());
    for _ in 0..2 {
        let error = client
            .converse()
            .model_id(FAST_MODEL)
            .messages(user(PROMPT))
            .send()
            .await
            .unwrap_err()
            .into_service_error();
        assert!(error.is_service_unavailable_exception(), "{error:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_fails_at_start_naming_the_flag() {
    let mut config = EmulatorConfig::new(fast_profile());
    config.upstream_url = Some(closed_port_url());
    let error = match Emulator::start(config).await {
        Ok(_) => panic!("no server to ask for its model"),
        Err(error) => format!("{error:#}"),
    };
    assert!(error.contains("--upstream"), "{error}");
    assert!(error.contains("--upstream-model"), "{error}");
}
