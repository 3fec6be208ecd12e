//! SigV4 as the services check it: the real SDKs signing with the configured keys are served;
//! a wrong secret, an unknown access key, or a body changed after signing are refused with
//! the exceptions AWS sends.

mod support;

use aws_sdk_bedrockruntime::error::ProvideErrorMetadata;
use aws_sdk_bedrockruntime::primitives::Blob;
use llmcap::emulate::{Credentials, Emulator, EmulatorConfig, DEFAULT_ENDPOINT_NAME};
use serde_json::json;
use support::{
    bedrock_client, bedrock_client_signed, fast_profile, max_tokens, sagemaker_client_signed, user,
    Moment, RewriteBody, FAST_MODEL, KEY_ID, SECRET,
};

const MISMATCH: &str = "The request signature we calculated does not match the signature you \
                        provided. Check your AWS Secret Access Key and signing method. Consult \
                        the service documentation for details.";
const UNKNOWN_KEY: &str = "The security token included in the request is invalid.";

async fn emulator(credentials: Option<Credentials>) -> Emulator {
    let mut config = EmulatorConfig::new(fast_profile());
    if let Some(credentials) = credentials {
        config.credentials = credentials;
    }
    Emulator::start(config).await.unwrap()
}

type HttpResponse = aws_sdk_bedrockruntime::config::http::HttpResponse;

/// The error code, message and HTTP status of a failed call.
fn refusal<E: ProvideErrorMetadata>(
    error: &aws_sdk_bedrockruntime::error::SdkError<E, HttpResponse>,
) -> (String, String, u16) {
    (
        error.code().unwrap_or("<no code>").to_string(),
        error.message().unwrap_or("<no message>").to_string(),
        error.raw_response().map_or(0, |r| r.status().as_u16()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bedrock_refuses_a_wrong_secret_and_an_unknown_key_and_serves_the_right_ones() {
    let emulator = emulator(None).await;
    let url = emulator.url();

    let right = bedrock_client(&url);
    let out = right
        .converse()
        .model_id(FAST_MODEL)
        .messages(user("signed right"))
        .inference_config(max_tokens(2))
        .send()
        .await
        .expect("the default keys are served");
    assert_eq!(out.usage().unwrap().output_tokens(), 2);

    let wrong_secret = bedrock_client_signed(&url, KEY_ID, "not-the-secret", None);
    let error = wrong_secret
        .converse()
        .model_id(FAST_MODEL)
        .messages(user("hi"))
        .send()
        .await
        .unwrap_err();
    let (code, message, status) = refusal(&error);
    assert_eq!(
        (code.as_str(), message.as_str(), status),
        ("InvalidSignatureException", MISMATCH, 403)
    );
    // The streaming operations check the signature before any event.
    let error = wrong_secret
        .invoke_model_with_response_stream()
        .model_id(FAST_MODEL)
        .body(Blob::new(
            json!({"prompt": "hi", "max_tokens": 2}).to_string(),
        ))
        .send()
        .await
        .unwrap_err();
    assert_eq!(refusal(&error).0, "InvalidSignatureException");

    let unknown_key = bedrock_client_signed(&url, "AKIDUNKNOWN", SECRET, None);
    let error = unknown_key
        .converse_stream()
        .model_id(FAST_MODEL)
        .messages(user("hi"))
        .send()
        .await
        .unwrap_err();
    let (code, message, status) = refusal(&error);
    assert_eq!(
        (code.as_str(), message.as_str(), status),
        ("UnrecognizedClientException", UNKNOWN_KEY, 403)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_changed_after_signing_is_refused_and_one_changed_before_is_served() {
    let emulator = emulator(None).await;
    let url = emulator.url();
    // Same length, one letter different: only the signature can tell.
    fn tamper(mut body: Vec<u8>) -> Vec<u8> {
        let text = String::from_utf8_lossy(&body).into_owned();
        let at = text.find("hello").expect("the prompt is in the body");
        body[at] = b'j';
        body
    }
    let after = RewriteBody {
        moment: Moment::AfterSigning,
        rewrite: tamper,
    };
    let client = bedrock_client_signed(&url, KEY_ID, SECRET, Some(after.clone()));
    let error = client
        .converse()
        .model_id(FAST_MODEL)
        .messages(user("hello"))
        .inference_config(max_tokens(2))
        .send()
        .await
        .unwrap_err();
    assert_eq!(refusal(&error).0, "InvalidSignatureException", "{error:?}");
    let error = client
        .invoke_model()
        .model_id(FAST_MODEL)
        .body(Blob::new(
            json!({"prompt": "hello", "max_tokens": 2}).to_string(),
        ))
        .send()
        .await
        .unwrap_err();
    assert_eq!(refusal(&error).0, "InvalidSignatureException");

    let before = RewriteBody {
        moment: Moment::BeforeSigning,
        rewrite: tamper,
    };
    let client = bedrock_client_signed(&url, KEY_ID, SECRET, Some(before));
    let out = client
        .converse()
        .model_id(FAST_MODEL)
        .messages(user("hello"))
        .inference_config(max_tokens(2))
        .send()
        .await
        .expect("a body changed before signing is signed as sent");
    assert_eq!(out.usage().unwrap().output_tokens(), 2);

    let sagemaker = sagemaker_client_signed(&url, KEY_ID, SECRET, Some(after));
    let error = sagemaker
        .invoke_endpoint()
        .endpoint_name(DEFAULT_ENDPOINT_NAME)
        .body(aws_sdk_sagemakerruntime::primitives::Blob::new(
            json!({"inputs": "hello", "parameters": {"max_new_tokens": 2}}).to_string(),
        ))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_sagemakerruntime::error::ProvideErrorMetadata::code(&error),
        Some("InvalidSignatureException")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sagemaker_checks_signatures_against_configured_keys() {
    use aws_sdk_sagemakerruntime::error::ProvideErrorMetadata as _;
    use aws_sdk_sagemakerruntime::primitives::Blob;
    let keys = Credentials {
        access_key_id: "AKIDCONFIGURED".to_string(),
        secret_access_key: "configured/secret+key".to_string(),
    };
    let emulator = emulator(Some(keys)).await;
    let url = emulator.url();
    let body =
        || Blob::new(json!({"inputs": "hi", "parameters": {"max_new_tokens": 2}}).to_string());

    let right = sagemaker_client_signed(&url, "AKIDCONFIGURED", "configured/secret+key", None);
    let out = right
        .invoke_endpoint()
        .endpoint_name(DEFAULT_ENDPOINT_NAME)
        .body(body())
        .send()
        .await
        .expect("the configured keys are served");
    let answer: serde_json::Value = serde_json::from_slice(out.body().unwrap().as_ref()).unwrap();
    assert_eq!(answer[0]["details"]["generated_tokens"], 2);

    // The defaults are no longer accepted once other keys are configured.
    let defaults = sagemaker_client_signed(&url, KEY_ID, SECRET, None);
    let error = defaults
        .invoke_endpoint()
        .endpoint_name(DEFAULT_ENDPOINT_NAME)
        .body(body())
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("UnrecognizedClientException"));
    assert_eq!(error.message(), Some(UNKNOWN_KEY));

    let wrong_secret = sagemaker_client_signed(&url, "AKIDCONFIGURED", "test", None);
    let error = wrong_secret
        .invoke_endpoint_with_response_stream()
        .endpoint_name(DEFAULT_ENDPOINT_NAME)
        .body(body())
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("InvalidSignatureException"));
    assert_eq!(error.message(), Some(MISMATCH));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_request_is_refused_in_the_services_shape() {
    let emulator = emulator(None).await;
    let response = reqwest::Client::new()
        .post(format!("{}/model/{FAST_MODEL}/converse", emulator.url()))
        .body(json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let error_type = response.headers()["x-amzn-errortype"].to_str().unwrap();
    assert_eq!(error_type, "AccessDeniedException");
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("Missing Authentication Token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_refuses_empty_keys_and_a_zero_idle_timeout() {
    let mut config = EmulatorConfig::new(fast_profile());
    config.credentials.secret_access_key.clear();
    let error = Emulator::start(config).await.err().expect("refused");
    assert!(error.to_string().contains("secret access key"), "{error}");
    let mut config = EmulatorConfig::new(fast_profile());
    config.idle_timeout = std::time::Duration::ZERO;
    let error = Emulator::start(config).await.err().expect("refused");
    assert!(error.to_string().contains("idle timeout"), "{error}");
}

/// The flags reach the server: `llmcap emulate` with its own keys and a short idle timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_serves_its_flags_keys_and_closes_idle_connections() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    use tokio::io::AsyncReadExt;

    let profile = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/emulator-fast.toml"
    );
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("llmcap"))
        .args(["emulate", "--profile", profile])
        .args([
            "--access-key-id",
            "AKIDCLI",
            "--secret-access-key",
            "cli-secret",
        ])
        .args(["--idle-timeout", "0.5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    let stdout = child.stdout.take().unwrap();
    BufReader::new(stdout).read_line(&mut url).unwrap();
    let url = url.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let right = bedrock_client_signed(&url, "AKIDCLI", "cli-secret", None);
    let served = right
        .converse()
        .model_id(FAST_MODEL)
        .messages(user("hi"))
        .inference_config(max_tokens(2))
        .send()
        .await;
    let defaults = bedrock_client(&url);
    let refused = defaults
        .converse()
        .model_id(FAST_MODEL)
        .messages(user("hi"))
        .send()
        .await;
    let mut tcp = tokio::net::TcpStream::connect(url.trim_start_matches("http://"))
        .await
        .unwrap();
    let mut read = Vec::new();
    let closed = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        tcp.read_to_end(&mut read),
    )
    .await;
    child.kill().unwrap();
    child.wait().unwrap();

    assert_eq!(served.unwrap().usage().unwrap().output_tokens(), 2);
    assert_eq!(
        refusal(&refused.unwrap_err()).0,
        "UnrecognizedClientException"
    );
    assert!(
        matches!(closed, Ok(Ok(0))),
        "--idle-timeout 0.5 closes a silent connection: {closed:?}"
    );
}
