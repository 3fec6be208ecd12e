//! Output limits and prompt sizes checked as the services check them, before anything is
//! generated: each refusal names the field, and a request inside the limits is answered.
//! Every call is bounded in time: `maxTokens 1e9` must be refused at once, never generated.

mod support;

use std::time::Duration;

use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::Client;
use llmcap::emulate::{Emulator, EmulatorConfig, ModelLimits, DEFAULT_ENDPOINT_NAME};
use serde_json::{json, Value};
use support::{
    bedrock_client, bedrock_client_signed, fast_profile, max_tokens, sagemaker_client, user,
    Moment, RewriteBody, FAST_MODEL, KEY_ID, SECRET,
};

const PROMPT_LIMIT: Duration = Duration::from_secs(20);

async fn emulator(limits: Option<ModelLimits>) -> Emulator {
    let mut config = EmulatorConfig::new(fast_profile());
    if let Some(limits) = limits {
        config.limits = limits;
    }
    Emulator::start(config).await.unwrap()
}

/// A Converse call's refusal: (error code, message).
async fn converse_refusal(client: &Client, prompt: &str, tokens: Option<i32>) -> (String, String) {
    let mut call = client
        .converse()
        .model_id(FAST_MODEL)
        .messages(user(prompt));
    if let Some(tokens) = tokens {
        call = call.inference_config(max_tokens(tokens));
    }
    let error = tokio::time::timeout(PROMPT_LIMIT, call.send())
        .await
        .expect("refused promptly")
        .unwrap_err();
    let code = error.code().unwrap_or_default().to_string();
    let message = error.message().unwrap_or_default().to_string();
    assert_eq!(
        error.raw_response().map(|r| r.status().as_u16()),
        Some(400),
        "{code}: {message}"
    );
    (code, message)
}

/// An InvokeModel call's refusal for a raw native body.
async fn invoke_refusal(client: &Client, body: Value, stream: bool) -> (String, String) {
    let error = if stream {
        let call = client
            .invoke_model_with_response_stream()
            .model_id(FAST_MODEL)
            .body(Blob::new(body.to_string()));
        let result = tokio::time::timeout(PROMPT_LIMIT, call.send()).await;
        let error = result.expect("refused promptly").unwrap_err();
        (
            error.code().unwrap_or_default().to_string(),
            error.message().unwrap_or_default().to_string(),
        )
    } else {
        let call = client
            .invoke_model()
            .model_id(FAST_MODEL)
            .body(Blob::new(body.to_string()));
        let result = tokio::time::timeout(PROMPT_LIMIT, call.send()).await;
        let error = result.expect("refused promptly").unwrap_err();
        (
            error.code().unwrap_or_default().to_string(),
            error.message().unwrap_or_default().to_string(),
        )
    };
    error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converse_refuses_max_tokens_below_one_or_above_the_model_limit() {
    let emulator = emulator(None).await;
    let client = bedrock_client(&emulator.url());
    for tokens in [0, -1] {
        let (code, message) = converse_refusal(&client, "hi", Some(tokens)).await;
        assert_eq!(code, "ValidationException");
        assert!(
            message.contains(&format!("Value '{tokens}' at 'inferenceConfig.maxTokens'")),
            "{message}"
        );
        assert!(message.contains("greater than or equal to 1"), "{message}");
    }
    // 1e9 is above the default 128k window: refused at once, not generated for hours.
    let (code, message) = converse_refusal(&client, "hi", Some(1_000_000_000)).await;
    assert_eq!(code, "ValidationException");
    assert!(
        message.contains("inferenceConfig.maxTokens = 1000000000")
            && message.contains("model limit of 128000"),
        "{message}"
    );
    let out = client
        .converse()
        .model_id(FAST_MODEL)
        .messages(user("hi"))
        .inference_config(max_tokens(3))
        .send()
        .await
        .expect("a limit inside the model's is served");
    assert_eq!(out.usage().unwrap().output_tokens(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converse_refuses_max_tokens_that_are_not_whole_numbers() {
    let emulator = emulator(None).await;
    // The SDK's types cannot send these: put them in the body before it is signed.
    fn as_text(body: Vec<u8>) -> Vec<u8> {
        let mut request: Value = serde_json::from_slice(&body).unwrap();
        request["inferenceConfig"]["maxTokens"] = json!("abc");
        request.to_string().into_bytes()
    }
    fn as_fraction(body: Vec<u8>) -> Vec<u8> {
        let mut request: Value = serde_json::from_slice(&body).unwrap();
        request["inferenceConfig"]["maxTokens"] = json!(2.5);
        request.to_string().into_bytes()
    }
    for (rewrite, raw) in [
        (as_text as fn(Vec<u8>) -> Vec<u8>, "\"abc\""),
        (as_fraction, "2.5"),
    ] {
        let rewrite = RewriteBody {
            moment: Moment::BeforeSigning,
            rewrite,
        };
        let client = bedrock_client_signed(&emulator.url(), KEY_ID, SECRET, Some(rewrite));
        let (code, message) = converse_refusal(&client, "hi", Some(5)).await;
        assert_eq!(code, "ValidationException");
        assert!(
            message.contains(&format!("Value '{raw}' at 'inferenceConfig.maxTokens'"))
                && message.contains("must be an integer"),
            "{message}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prompts_beyond_the_context_window_are_refused() {
    let limits = ModelLimits {
        context_window: 100,
        max_output_tokens: 50,
    };
    let emulator = emulator(Some(limits)).await;
    let client = bedrock_client(&emulator.url());
    // 400 characters ≈ 100 tokens: the prompt alone fills the window.
    let (code, message) = converse_refusal(&client, &"a".repeat(400), Some(1)).await;
    assert_eq!(code, "ValidationException");
    assert_eq!(message, "Input is too long for requested model.");
    // 80 tokens + 30 > 100: the field that overflows is named, with the arithmetic.
    let (code, message) = converse_refusal(&client, &"a".repeat(320), Some(30)).await;
    assert_eq!(code, "ValidationException");
    assert!(
        message.contains("`inferenceConfig.maxTokens`") && message.contains("80 + 30 > 100"),
        "{message}"
    );
    // Above the profile's output limit, though inside the window.
    let (_, message) = converse_refusal(&client, "hi", Some(51)).await;
    assert!(message.contains("model limit of 50"), "{message}");
    // 80 + 20 = 100 fits exactly.
    let out = client
        .converse()
        .model_id(FAST_MODEL)
        .messages(user(&"a".repeat(320)))
        .inference_config(max_tokens(20))
        .send()
        .await
        .expect("a prompt that fits is served");
    assert_eq!(out.usage().unwrap().input_tokens(), 80);

    let (code, message) = invoke_refusal(
        &client,
        json!({"prompt": "a".repeat(320), "max_gen_len": 40}),
        true,
    )
    .await;
    assert_eq!(code, "ValidationException");
    assert!(message.contains("`max_gen_len`"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_model_bodies_are_checked_against_their_schema() {
    let emulator = emulator(None).await;
    let client = bedrock_client(&emulator.url());
    let llama = |v: Value| json!({"prompt": "hi", "max_gen_len": v});
    let cases = [
        (
            llama(json!(0)),
            "#/max_gen_len: 0 is not greater or equal to 1",
        ),
        (
            llama(json!(-1)),
            "#/max_gen_len: -1 is not greater or equal to 1",
        ),
        (
            llama(json!("abc")),
            "#/max_gen_len: expected type: Integer, found: String",
        ),
        (
            llama(json!(1e9)),
            "#/max_gen_len: 1000000000 is not less or equal to 128000",
        ),
        (
            json!({"prompt": "hi", "max_tokens": 2.5}),
            "#/max_tokens: expected type: Integer, found: Number",
        ),
        (
            json!({"inputText": "hi", "textGenerationConfig": {"maxTokenCount": 0}}),
            "#/textGenerationConfig/maxTokenCount: 0 is not greater or equal to 1",
        ),
    ];
    for (body, expected) in cases {
        for stream in [false, true] {
            let (code, message) = invoke_refusal(&client, body.clone(), stream).await;
            assert_eq!(code, "ValidationException", "{body}");
            assert!(message.contains(expected), "{body}: {message}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sagemaker_containers_refuse_bad_limits_as_model_errors() {
    use aws_sdk_sagemakerruntime::error::ProvideErrorMetadata as _;
    use aws_sdk_sagemakerruntime::primitives::Blob;
    let limits = ModelLimits {
        context_window: 100,
        max_output_tokens: 60,
    };
    let emulator = emulator(Some(limits)).await;
    let client = sagemaker_client(&emulator.url());
    let tgi = |v: Value| json!({"inputs": "hi", "parameters": {"max_new_tokens": v}});
    let openai =
        |v: Value| json!({"messages": [{"role": "user", "content": "hi"}], "max_tokens": v});
    let cases = [
        (tgi(json!(0)), "`max_new_tokens` must be strictly positive"),
        (
            tgi(json!("abc")),
            "parameters.max_new_tokens: invalid type: string",
        ),
        (
            tgi(json!(1e9)),
            "`max_new_tokens` must be <= 60. Given: 1000000000",
        ),
        (
            json!({"inputs": "a".repeat(320), "parameters": {"max_new_tokens": 30}}),
            "`inputs` tokens + `max_new_tokens` must be <= 100. Given: 80",
        ),
        (openai(json!(-1)), "max_tokens must be at least 1, got -1"),
        (
            openai(json!("abc")),
            "max_tokens: Input should be a valid integer",
        ),
    ];
    for (body, expected) in cases {
        let call = client
            .invoke_endpoint()
            .endpoint_name(DEFAULT_ENDPOINT_NAME)
            .body(Blob::new(body.to_string()));
        let error = tokio::time::timeout(PROMPT_LIMIT, call.send())
            .await
            .expect("refused promptly")
            .unwrap_err();
        assert_eq!(error.code(), Some("ModelError"), "{body}");
        let message = error.message().unwrap_or_default();
        assert!(message.contains(expected), "{body}: {message}");
        assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(424));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_get_the_services_validation_errors() {
    let emulator = emulator(None).await;
    let client = bedrock_client(&emulator.url());
    // 50 MB, twice Bedrock's 25,000,000-byte limit.
    let error = client
        .invoke_model()
        .model_id(FAST_MODEL)
        .body(Blob::new(vec![b' '; 50_000_000]))
        .send()
        .await
        .unwrap_err();
    let raw = error.raw_response().expect("an HTTP answer, not a reset");
    assert_eq!(raw.status().as_u16(), 400);
    assert_eq!(
        raw.headers().get("x-amzn-errortype"),
        Some("ValidationException")
    );
    let body: Value = serde_json::from_slice(raw.body().bytes().unwrap()).unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("Value at 'body'") && message.contains("less than or equal to 25000000"),
        "{message}"
    );
    assert_eq!(error.code(), Some("ValidationException"));
    // The connection pool still works afterwards.
    let out = client
        .converse()
        .model_id(FAST_MODEL)
        .messages(user("still there?"))
        .inference_config(max_tokens(2))
        .send()
        .await
        .unwrap();
    assert_eq!(out.usage().unwrap().output_tokens(), 2);

    use aws_sdk_sagemakerruntime::error::ProvideErrorMetadata as _;
    let sagemaker = sagemaker_client(&emulator.url());
    let error = sagemaker
        .invoke_endpoint()
        .endpoint_name(DEFAULT_ENDPOINT_NAME)
        .body(aws_sdk_sagemakerruntime::primitives::Blob::new(vec![
            b' ';
            6 * 1024 * 1024
                + 1
        ]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("ValidationError"));
    assert!(error
        .message()
        .unwrap_or_default()
        .contains("less than or equal to 6291456"));
}
