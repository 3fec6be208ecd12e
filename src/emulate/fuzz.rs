//! Property tests over what arrives from the network: arbitrary bytes and JSON-shaped bodies
//! through every body parser (each ends in a prompt inside the model's limits or in the
//! service's typed refusal, never a panic), arbitrary `Authorization` headers through the
//! signature check, and event-stream frames through the decoder (arbitrary bytes never panic;
//! every frame the emulator writes reads back as written; any changed byte is detected).

use aws_smithy_eventstream::frame::read_message_from;
use axum::http::{HeaderMap, HeaderValue};
use bytes::Bytes;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

use super::bedrock::{converse_prompt, family, native_prompt, read_json};
use super::errors::AwsError;
use super::frames::{bytes_event, exception, json_event};
use super::limits::ModelLimits;
use super::prompt::Prompt;
use super::sagemaker::parse_payload;
use super::sigv4::{verify, AuthError, Credentials, SignedRequest};

const LIMITS: ModelLimits = ModelLimits {
    context_window: 4096,
    max_output_tokens: 1024,
};

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..24).prop_map(String::from_iter)
}

/// JSON values of every type, numbers at the edges included, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        prop_oneof![Just(0i64), Just(-1), Just(1), Just(1024), Just(1025)].prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..4)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A body with the fields the dialects read, each at an arbitrary value.
fn request_body() -> impl Strategy<Value = Value> {
    (
        json_value(),
        json_value(),
        json_value(),
        json_value(),
        text(),
    )
        .prop_map(|(messages, tokens, gen_len, parameters, prompt)| {
            json!({
                "messages": [{"role": "user", "content": messages}],
                "inferenceConfig": {"maxTokens": tokens},
                "max_tokens": tokens,
                "max_gen_len": gen_len,
                "prompt": prompt,
                "inputs": prompt,
                "parameters": {"max_new_tokens": parameters},
            })
        })
}

/// A parsed prompt respects the limits; a refusal is a client error in the service's shape.
fn sound(result: Result<Prompt, AwsError>) -> Result<(), TestCaseError> {
    match result {
        Ok(prompt) => {
            prop_assert!(prompt.max_tokens >= 1);
            prop_assert!(prompt.max_tokens <= LIMITS.max_output_tokens);
            prop_assert!(prompt.estimated_tokens() + prompt.max_tokens <= LIMITS.context_window);
        }
        Err(error) => {
            let status = error.status.as_u16();
            prop_assert!(status == 400 || status == 424, "{error:?}");
            prop_assert!(!error.message.is_empty());
        }
    }
    Ok(())
}

fn every_bedrock_parser(body: &[u8]) -> Result<(), TestCaseError> {
    let request = match read_json(body) {
        Ok(request) => request,
        Err(error) => return sound(Err(error)),
    };
    sound(converse_prompt(&request, &LIMITS))?;
    for model in ["anthropic.claude-v2", "meta.llama3-8b", "amazon.titan-text"] {
        sound(native_prompt(family(model), &request, &LIMITS))?;
    }
    Ok(())
}

fn decoded(frame: &Bytes) -> (Vec<(String, String)>, Vec<u8>) {
    let mut buffer = frame.clone();
    let message = read_message_from(&mut buffer).expect("the emulator's own frame reads back");
    let headers = message
        .headers()
        .iter()
        .map(|h| {
            let value = h.value().as_string().map(|s| s.as_str().to_string());
            (h.name().as_str().to_string(), value.unwrap_or_default())
        })
        .collect();
    (headers, message.payload().to_vec())
}

proptest! {
    // A fixed seed and modest counts: the same cases on every run, in well under a second.
    #![proptest_config(ProptestConfig {
        cases: 192,
        rng_seed: proptest::test_runner::RngSeed::Fixed(20261130),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_bytes_are_parsed_or_refused(body in prop::collection::vec(any::<u8>(), 0..256)) {
        every_bedrock_parser(&body)?;
        sound(parse_payload(&body, &LIMITS).map(|(_, prompt)| prompt))?;
    }

    #[test]
    fn json_shaped_bodies_are_parsed_or_refused(body in request_body()) {
        let bytes = body.to_string().into_bytes();
        every_bedrock_parser(&bytes)?;
        sound(parse_payload(&bytes, &LIMITS).map(|(_, prompt)| prompt))?;
        let without_inputs = {
            let mut body = body.clone();
            body.as_object_mut().map(|o| o.remove("inputs"));
            body.to_string().into_bytes()
        };
        sound(parse_payload(&without_inputs, &LIMITS).map(|(_, prompt)| prompt))?;
    }

    #[test]
    fn arbitrary_authorization_headers_are_refused(
        value in prop::collection::vec(any::<u8>(), 0..160),
        prefix in any::<bool>(),
    ) {
        let mut text = if prefix { b"AWS4-HMAC-SHA256 ".to_vec() } else { Vec::new() };
        text.extend(value);
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-date", HeaderValue::from_static("20261130T062541Z"));
        if let Ok(value) = HeaderValue::from_bytes(&text) {
            headers.insert("authorization", value);
        }
        let request = SignedRequest { method: "POST", path: "/", query: "", headers: &headers, body: b"" };
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_019_941);
        let result = verify(&request, &Credentials::default(), "bedrock", now);
        prop_assert!(result.is_err());
        prop_assert!(result != Err(AuthError::Mismatch) || prefix);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_frame_decoder(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
        let mut buffer = Bytes::from(bytes);
        let _ = read_message_from(&mut buffer);
    }

    #[test]
    fn frames_read_back_as_written_and_any_changed_byte_is_caught(
        event in text(),
        payload in prop::collection::vec(any::<u8>(), 0..96),
        message in text(),
        flip in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let content = json!({"text": message});
        let frames = [
            (json_event(&event, &content), event.clone(), content.to_string().into_bytes()),
            (bytes_event(&event, Bytes::from(payload.clone())), event.clone(), payload),
            (
                exception(&event, &message),
                event.clone(),
                json!({"message": message}).to_string().into_bytes(),
            ),
        ];
        for (frame, name, body) in frames {
            let (headers, read) = decoded(&frame);
            prop_assert_eq!(&read, &body);
            prop_assert!(headers.iter().any(|(k, v)| k.ends_with("-type") && *v == name && k != ":message-type" && k != ":content-type"));
            let mut changed = frame.to_vec();
            let at = flip.index(changed.len());
            changed[at] ^= mask;
            prop_assert!(read_message_from(&mut Bytes::from(changed)).is_err());
        }
    }
}
