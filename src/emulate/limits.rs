//! What a model accepts: its context window and its largest output, and the checks every body
//! dialect makes of its output-limit field (`maxTokens`, `max_tokens`, `max_gen_len`,
//! `max_new_tokens`) before anything is generated.

use serde_json::Value;

use super::errors::AwsError;
use super::prompt::{Message, Prompt};
use super::refusal::Field;

use crate::perf::Profile;

/// The window when the profile names none: 128k tokens, the context of the Llama 3.x, Mistral
/// Large and Nova models Bedrock serves (Claude's is 200k). An assumption, stated in the README.
pub const DEFAULT_CONTEXT_WINDOW: u64 = 128_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelLimits {
    /// Prompt + output tokens the model takes.
    pub context_window: u64,
    /// The largest output-limit value a request may ask for.
    pub max_output_tokens: u64,
}

impl ModelLimits {
    /// The profile's `[limits]` (`context_window`, `max_output_tokens`), else the default
    /// window, with the output bounded by the window.
    pub fn of(profile: &Profile) -> ModelLimits {
        let limits = profile.limits.as_ref();
        let context_window = limits
            .and_then(|l| l.context_window)
            .filter(|w| *w > 0)
            .unwrap_or(DEFAULT_CONTEXT_WINDOW);
        let max_output_tokens = limits
            .and_then(|l| l.max_output_tokens)
            .filter(|m| *m > 0)
            .unwrap_or(context_window)
            .min(context_window);
        ModelLimits {
            context_window,
            max_output_tokens,
        }
    }
}

/// Why an output-limit field is refused; each dialect words it its own way.
#[derive(Clone, Debug, PartialEq)]
pub enum TokensError {
    /// Not a whole number: `found` is the JSON type, `raw` the value as sent.
    NotAnInteger {
        found: &'static str,
        raw: String,
    },
    /// Zero or negative (`raw` as sent).
    BelowOne {
        raw: String,
    },
    AboveLimit {
        value: u64,
        limit: u64,
    },
    /// Prompt + requested output do not fit the window.
    TooLong {
        input: u64,
        output: u64,
        window: u64,
    },
    /// The prompt alone fills the window.
    InputTooLong {
        input: u64,
        window: u64,
    },
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(_) => "Number",
        Value::String(_) => "String",
        Value::Array(_) => "JSONArray",
        Value::Object(_) => "JSONObject",
    }
}

/// An output-limit field: absent or null gives `None`; a whole number from 1 to `limit` gives
/// it (a float with no fraction, e.g. `1e9`, counts as whole, as JSON parsers on the service
/// side read it); anything else is refused.
pub fn read_tokens(value: Option<&Value>, limit: u64) -> Result<Option<u64>, TokensError> {
    let value = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(value) => value,
    };
    let raw = value.to_string();
    let Value::Number(number) = value else {
        return Err(TokensError::NotAnInteger {
            found: type_name(value),
            raw,
        });
    };
    let whole = if let Some(n) = number.as_u64() {
        n
    } else if number.as_i64().is_some() {
        return Err(TokensError::BelowOne { raw });
    } else {
        match number.as_f64() {
            Some(f) if f.is_finite() && f.fract() == 0.0 && f < 1.0 => {
                return Err(TokensError::BelowOne { raw })
            }
            // Saturates above u64::MAX, which is refused as above the limit all the same.
            Some(f) if f.is_finite() && f.fract() == 0.0 => f as u64,
            _ => {
                return Err(TokensError::NotAnInteger {
                    found: "Number",
                    raw,
                })
            }
        }
    };
    if whole == 0 {
        return Err(TokensError::BelowOne { raw });
    }
    if whole > limit {
        return Err(TokensError::AboveLimit {
            value: whole,
            limit,
        });
    }
    Ok(Some(whole))
}

/// The prompt must leave room in the window for the requested output.
pub fn check_fit(input: u64, output: u64, limits: &ModelLimits) -> Result<(), TokensError> {
    let window = limits.context_window;
    if input >= window {
        return Err(TokensError::InputTooLong { input, window });
    }
    if input.saturating_add(output) > window {
        return Err(TokensError::TooLong {
            input,
            output,
            window,
        });
    }
    Ok(())
}

/// The output limit a body asks for (its `field`, or `default` bounded by the model), and the
/// prompt's fit in the window, checked as the service checks them.
pub fn bounded(
    messages: Vec<Message>,
    requested: Option<&Value>,
    default: u64,
    field: Field,
    limits: &ModelLimits,
) -> Result<Prompt, AwsError> {
    let max_tokens = read_tokens(requested, limits.max_output_tokens)
        .map_err(|e| field.refuse(e))?
        .unwrap_or(default.min(limits.max_output_tokens));
    let prompt = Prompt {
        messages,
        max_tokens,
    };
    check_fit(prompt.estimated_tokens(), max_tokens, limits).map_err(|e| field.refuse(e))?;
    Ok(prompt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn output_limits_must_be_whole_positive_and_within_the_model() {
        let read = |v: Value| read_tokens(Some(&v), 4096);
        assert_eq!(read(json!(12)), Ok(Some(12)));
        assert_eq!(read(json!(4096)), Ok(Some(4096)));
        assert_eq!(read(json!(2.0)), Ok(Some(2)));
        assert_eq!(read_tokens(None, 4096), Ok(None));
        assert_eq!(read(Value::Null), Ok(None));
        assert_eq!(
            read(json!(0)),
            Err(TokensError::BelowOne { raw: "0".into() })
        );
        assert_eq!(
            read(json!(-1)),
            Err(TokensError::BelowOne { raw: "-1".into() })
        );
        assert_eq!(
            read(json!("abc")),
            Err(TokensError::NotAnInteger {
                found: "String",
                raw: "\"abc\"".into()
            })
        );
        assert!(matches!(
            read(json!(2.5)),
            Err(TokensError::NotAnInteger { .. })
        ));
        assert_eq!(
            read(json!(1e9)),
            Err(TokensError::AboveLimit {
                value: 1_000_000_000,
                limit: 4096
            })
        );
        assert_eq!(
            read(json!(4097)),
            Err(TokensError::AboveLimit {
                value: 4097,
                limit: 4096
            })
        );
    }

    #[test]
    fn the_prompt_and_the_output_must_fit_the_window() {
        let limits = ModelLimits {
            context_window: 100,
            max_output_tokens: 50,
        };
        assert_eq!(check_fit(60, 40, &limits), Ok(()));
        assert_eq!(
            check_fit(61, 40, &limits),
            Err(TokensError::TooLong {
                input: 61,
                output: 40,
                window: 100
            })
        );
        assert_eq!(
            check_fit(100, 1, &limits),
            Err(TokensError::InputTooLong {
                input: 100,
                window: 100
            })
        );
    }
}
