//! AWS event-stream framing (prelude, headers, CRCs) with the aws-smithy-eventstream crate:
//! the same code the SDKs use to read the frames writes them here.

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use bytes::Bytes;

fn header(name: &'static str, value: &str) -> Header {
    Header::new(name, HeaderValue::String(value.to_string().into()))
}

fn encode(message: &Message) -> Bytes {
    let mut buffer = Vec::new();
    write_message_to(message, &mut buffer).expect("an event-stream frame within size limits");
    Bytes::from(buffer)
}

/// An event whose payload is JSON (Bedrock's events, and Bedrock's `chunk` wrapper).
pub fn json_event(event_type: &str, payload: &serde_json::Value) -> Bytes {
    let message = Message::new(payload.to_string().into_bytes())
        .add_header(header(":message-type", "event"))
        .add_header(header(":event-type", event_type))
        .add_header(header(":content-type", "application/json"));
    encode(&message)
}

/// An event whose payload is raw bytes (SageMaker's PayloadPart).
pub fn bytes_event(event_type: &str, payload: Bytes) -> Bytes {
    let message = Message::new(payload)
        .add_header(header(":message-type", "event"))
        .add_header(header(":event-type", event_type))
        .add_header(header(":content-type", "application/octet-stream"));
    encode(&message)
}

/// An exception inside the stream, e.g. `throttlingException` (Bedrock names the member in
/// camelCase) with a JSON `{"message": …}` payload.
pub fn exception(exception_type: &str, message: &str) -> Bytes {
    let payload = serde_json::json!({ "message": message }).to_string();
    let frame = Message::new(payload.into_bytes())
        .add_header(header(":message-type", "exception"))
        .add_header(header(":exception-type", exception_type))
        .add_header(header(":content-type", "application/json"));
    encode(&frame)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::read_message_from;

    #[test]
    fn frames_read_back_with_their_headers_and_payload() {
        let frame = json_event(
            "contentBlockDelta",
            &serde_json::json!({"delta": {"text": "Hi"}}),
        );
        let mut buffer = frame.clone();
        let message = read_message_from(&mut buffer).unwrap();
        let names: Vec<String> = message
            .headers()
            .iter()
            .map(|h| h.name().as_str().to_string())
            .collect();
        assert_eq!(names, [":message-type", ":event-type", ":content-type"]);
        let payload: serde_json::Value = serde_json::from_slice(message.payload()).unwrap();
        assert_eq!(payload["delta"]["text"], "Hi");
        // Corrupt one payload byte: the message CRC no longer matches.
        let mut bad = frame.to_vec();
        let at = bad.len() - 6;
        bad[at] ^= 0xFF;
        assert!(read_message_from(&mut Bytes::from(bad)).is_err());
    }
}
