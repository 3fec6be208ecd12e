//! Whether a reply that ended well could have come from a real model: a misbehaving endpoint
//! (a stub, a proxy that drops the stream, a server that miscounts) must not become a profile.
//!
//! The rules hold for any tokenizer and server, with a stated factor of slack:
//! - a reply streams some generated text (an empty stream, or only `[DONE]`, measured nothing:
//!   no first token, no token rate);
//! - a server never generates more than it was allowed: reported output tokens are at most
//!   [`OUTPUT_FACTOR`] × max_tokens + [`OUTPUT_SLACK`] (slack for servers that count an end
//!   token or a template's tokens as output);
//! - every streamed piece of text holds at least one token, so reported output tokens are at
//!   least the pieces streamed over [`OUTPUT_FACTOR`] (slack for servers that split a token's
//!   bytes over two pieces);
//! - a prompt token is at least one byte of the prompt, so reported prompt tokens are at most
//!   the prompt's bytes + [`TEMPLATE_TOKENS`] (a chat template's own tokens).

use super::target::{ErrorKind, Exchange, Failure, TargetRequest};

/// How far reported output tokens may stray from what was asked for and what streamed.
pub const OUTPUT_FACTOR: f64 = 2.0;
/// Output tokens a server may count beyond the factor (an end-of-sequence token, say).
pub const OUTPUT_SLACK: u64 = 16;
/// Tokens a chat template may add to a prompt.
pub const TEMPLATE_TOKENS: u64 = 4_096;

/// The start of every implausible reply's error message, so a run can tell them apart.
pub const IMPLAUSIBLE: &str = "implausible reply";

/// `None` when the reply could be real; otherwise the failure to record instead of it.
/// `needs_text`: the reply is a measurement and must stream text (a prompt-size probe, which
/// only reads the prompt count, may end at once on an end token).
pub fn check(request: &TargetRequest, exchange: &Exchange, needs_text: bool) -> Option<Failure> {
    reason(request, exchange, needs_text).map(|why| Failure {
        kind: ErrorKind::ServerError,
        message: format!("{IMPLAUSIBLE}: {why}"),
    })
}

fn reason(request: &TargetRequest, exchange: &Exchange, needs_text: bool) -> Option<String> {
    let pieces = exchange.chunk_times.len() as u64;
    if pieces == 0 && needs_text {
        return Some(
            "the stream carried no generated text (no first token to time, nothing to count)"
                .into(),
        );
    }
    if let Some(output) = exchange.output_tokens {
        let ceiling = (OUTPUT_FACTOR * f64::from(request.max_tokens)) as u64 + OUTPUT_SLACK;
        if output > ceiling {
            return Some(format!(
                "the server reported {output} output tokens for a request capped at \
                 max_tokens {} (more than {OUTPUT_FACTOR}× + {OUTPUT_SLACK})",
                request.max_tokens
            ));
        }
        if (output as f64) < pieces as f64 / OUTPUT_FACTOR {
            return Some(format!(
                "the server reported {output} output tokens but streamed {pieces} pieces of text \
                 (each holds at least one token)"
            ));
        }
    }
    if let Some(input) = exchange.input_tokens {
        let ceiling = request.prompt.len() as u64 + TEMPLATE_TOKENS;
        if input > ceiling {
            return Some(format!(
                "the server reported {input} prompt tokens for a prompt of {} bytes (a token is \
                 at least a byte; {TEMPLATE_TOKENS} allowed for a chat template)",
                request.prompt.len()
            ));
        }
    }
    None
}

/// Whether a recorded error message is an implausible reply's.
pub fn is_implausible(error: &str) -> bool {
    error.starts_with(IMPLAUSIBLE)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn request(max_tokens: u32) -> TargetRequest {
        TargetRequest {
            prompt: "word ".repeat(100),
            max_tokens,
            fixed_output: true,
        }
    }

    fn exchange(pieces: usize, input: Option<u64>, output: Option<u64>) -> Exchange {
        let sent = Instant::now();
        Exchange {
            sent,
            chunk_times: (0..pieces)
                .map(|i| sent + Duration::from_millis(i as u64))
                .collect(),
            end: sent + Duration::from_millis(pieces as u64),
            input_tokens: input,
            cached_tokens: None,
            output_tokens: output,
            output_chars: pieces * 4,
            failure: None,
            attempts: 1,
        }
    }

    fn judge(request: &TargetRequest, exchange: &Exchange) -> Option<Failure> {
        check(request, exchange, true)
    }

    #[test]
    fn a_reply_like_a_real_servers_passes() {
        // 16 pieces, 16 tokens, 100 words of prompt read as 101 tokens with a template.
        assert_eq!(
            judge(&request(16), &exchange(16, Some(130), Some(16))),
            None
        );
        // Several tokens a piece (Bedrock streams chunks of a few tokens), early stop.
        assert_eq!(
            judge(&request(128), &exchange(10, Some(130), Some(40))),
            None
        );
        // No counts at all (a server without usage): nothing to hold against it.
        assert_eq!(judge(&request(16), &exchange(16, None, None)), None);
    }

    #[test]
    fn counts_no_server_could_produce_are_refused_with_the_reason() {
        let huge = judge(
            &request(16),
            &exchange(16, Some(130), Some(1_000_000_000_000)),
        )
        .unwrap();
        assert_eq!(huge.kind, ErrorKind::ServerError);
        assert!(is_implausible(&huge.message), "{}", huge.message);
        assert!(
            huge.message.contains("capped at max_tokens 16"),
            "{}",
            huge.message
        );
        // The ceiling is 2 × 16 + 16 = 48: at it passes, one above fails.
        assert_eq!(judge(&request(16), &exchange(16, None, Some(48))), None);
        assert!(judge(&request(16), &exchange(16, None, Some(49))).is_some());
        let few = judge(&request(64), &exchange(40, None, Some(19))).unwrap();
        assert!(
            few.message.contains("streamed 40 pieces"),
            "{}",
            few.message
        );
        let prompt = judge(&request(16), &exchange(16, Some(10_000), Some(16))).unwrap();
        assert!(prompt.message.contains("500 bytes"), "{}", prompt.message);
    }

    #[test]
    fn a_stream_without_text_measured_nothing() {
        let empty = judge(&request(16), &exchange(0, Some(130), Some(0))).unwrap();
        assert!(
            empty.message.contains("no generated text"),
            "{}",
            empty.message
        );
        // A probe reads only the prompt count: an at-once end token is fine there.
        assert_eq!(
            check(&request(1), &exchange(0, Some(130), Some(0)), false),
            None
        );
    }
}
