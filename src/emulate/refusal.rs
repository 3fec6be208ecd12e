//! How each body dialect words a refused output limit or an over-long prompt, modelled on the
//! services' own messages: Converse's request validation (`1 validation error detected: …`),
//! Bedrock's JSON-schema check of native bodies (`Malformed input request: #/max_tokens: …`),
//! and on SageMaker the container's own refusal (TGI's 422 `Input validation error`, vLLM's
//! 400) wrapped in a ModelError, since SageMaker passes the payload through unread.

use serde_json::json;

use super::errors::{AwsError, Service};
use super::limits::TokensError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wording {
    /// Converse / ConverseStream (`inferenceConfig.maxTokens`).
    Converse,
    /// InvokeModel bodies, checked against the model's JSON schema.
    Schema,
    /// A TGI container behind SageMaker.
    Tgi,
    /// An OpenAI-compatible server: a vLLM container behind SageMaker, or bedrock-mantle's
    /// Chat Completions.
    OpenAi,
    /// Anthropic's Messages API on bedrock-mantle.
    Anthropic,
}

/// One dialect's output-limit field, e.g. Converse's `inferenceConfig.maxTokens`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub wording: Wording,
    /// The field's path in the dialect's own notation (`max_gen_len`,
    /// `textGenerationConfig/maxTokenCount`, `parameters.max_new_tokens`).
    pub name: &'static str,
}

const TOO_LONG: &str = "Input is too long for requested model.";

fn converse(field: &str, error: TokensError) -> String {
    let constraint = |raw: &str, rule: &str| {
        format!(
            "1 validation error detected: Value '{raw}' at '{field}' failed to satisfy \
             constraint: Member must {rule}"
        )
    };
    match error {
        TokensError::NotAnInteger { raw, .. } => constraint(&raw, "be an integer"),
        TokensError::BelowOne { raw } => constraint(&raw, "have value greater than or equal to 1"),
        TokensError::AboveLimit { value, limit } => format!(
            "The maximum tokens you requested ({field} = {value}) exceeds the model limit of \
             {limit}. Try again with a maximum tokens value that is lower than {limit}."
        ),
        TokensError::TooLong {
            input,
            output,
            window,
        } => format!(
            "{TOO_LONG} Input length and `{field}` exceed context limit: {input} + {output} > \
             {window}, decrease input length or `{field}` and try again."
        ),
        TokensError::InputTooLong { .. } => TOO_LONG.to_string(),
    }
}

fn schema(field: &str, error: TokensError) -> String {
    let malformed = |what: String| {
        format!(
            "Malformed input request: #/{field}: {what}, please reformat your input and try again."
        )
    };
    match error {
        TokensError::NotAnInteger { found, .. } => {
            malformed(format!("expected type: Integer, found: {found}"))
        }
        TokensError::BelowOne { raw } => malformed(format!("{raw} is not greater or equal to 1")),
        TokensError::AboveLimit { value, limit } => {
            malformed(format!("{value} is not less or equal to {limit}"))
        }
        TokensError::TooLong {
            input,
            output,
            window,
        } => format!(
            "{TOO_LONG} Input length and `{field}` exceed context limit: {input} + {output} > \
             {window}, decrease input length or `{field}` and try again."
        ),
        TokensError::InputTooLong { .. } => TOO_LONG.to_string(),
    }
}

fn tgi(field: &str, error: TokensError) -> String {
    let short = field.rsplit('.').next().unwrap_or(field);
    match error {
        TokensError::NotAnInteger { found, raw } => format!(
            "Failed to deserialize the JSON body into the target type: {field}: invalid type: \
             {} {raw}, expected u32",
            found.to_lowercase()
        ),
        TokensError::BelowOne { .. } => {
            format!("Input validation error: `{short}` must be strictly positive")
        }
        TokensError::AboveLimit { value, limit } => {
            format!("Input validation error: `{short}` must be <= {limit}. Given: {value}")
        }
        TokensError::TooLong {
            input,
            output,
            window,
        } => format!(
            "Input validation error: `inputs` tokens + `{short}` must be <= {window}. Given: \
             {input} `inputs` tokens and {output} `{short}`"
        ),
        TokensError::InputTooLong { input, window } => format!(
            "Input validation error: `inputs` must have less than {window} tokens. Given: {input}"
        ),
    }
}

fn openai(field: &str, error: TokensError) -> String {
    match error {
        TokensError::NotAnInteger { raw, .. } => {
            format!("{field}: Input should be a valid integer, got {raw}")
        }
        TokensError::BelowOne { raw } => format!("{field} must be at least 1, got {raw}."),
        TokensError::AboveLimit { value, limit } => {
            format!("'{field}' is too large: {value}. This model allows at most {limit}.")
        }
        TokensError::TooLong {
            input,
            output,
            window,
        } => format!(
            "'{field}' is too large: {output}. This model's maximum context length is {window} \
             tokens and your request has {input} input tokens ({output} > {window} - {input})."
        ),
        TokensError::InputTooLong { input, window } => format!(
            "This model's maximum context length is {window} tokens. However, your request has \
             {input} input tokens. Please reduce the length of the input messages."
        ),
    }
}

fn anthropic(field: &str, error: TokensError) -> String {
    match error {
        TokensError::NotAnInteger { .. } => format!("{field}: Input should be a valid integer"),
        TokensError::BelowOne { .. } => {
            format!("{field}: Input should be greater than or equal to 1")
        }
        TokensError::AboveLimit { value, limit } => format!(
            "{field}: {value} > {limit}, which is the maximum allowed number of output tokens \
             for this model"
        ),
        TokensError::TooLong {
            input,
            output,
            window,
        } => format!(
            "input length and `{field}` exceed context limit: {input} + {output} > {window}, \
             decrease input length or `{field}` and try again"
        ),
        TokensError::InputTooLong { input, window } => {
            format!("prompt is too long: {input} tokens > {window} maximum")
        }
    }
}

impl Field {
    pub const fn new(wording: Wording, name: &'static str) -> Field {
        Field { wording, name }
    }

    /// The refusal's message in this dialect's words.
    pub fn words(self, error: TokensError) -> String {
        match self.wording {
            Wording::Converse => converse(self.name, error),
            Wording::Schema => schema(self.name, error),
            Wording::Tgi => tgi(self.name, error),
            Wording::OpenAi => openai(self.name, error),
            Wording::Anthropic => anthropic(self.name, error),
        }
    }

    /// The error the service answers with.
    pub fn refuse(self, error: TokensError) -> AwsError {
        match self.wording {
            Wording::Converse | Wording::Schema | Wording::Anthropic => {
                AwsError::validation(Service::Bedrock, self.words(error))
            }
            Wording::Tgi => container_refusal(
                422,
                json!({"error": self.words(error), "error_type": "validation"}),
            ),
            Wording::OpenAi => container_refusal(
                400,
                json!({"object": "error", "message": self.words(error),
                       "type": "BadRequestError", "code": 400}),
            ),
        }
    }
}

/// SageMaker's ModelError (424) carrying a container's client error.
pub fn container_refusal(status: u16, body: serde_json::Value) -> AwsError {
    AwsError::new(
        424,
        "ModelError",
        format!("Received client error ({status}) from primary with message \"{body}\"."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dialect_names_its_field() {
        let below = || TokensError::BelowOne { raw: "0".into() };
        let converse = Field::new(Wording::Converse, "inferenceConfig.maxTokens").refuse(below());
        assert_eq!(converse.code, "ValidationException");
        assert_eq!(converse.status.as_u16(), 400);
        assert!(converse
            .message
            .contains("Value '0' at 'inferenceConfig.maxTokens'"));
        let schema = Field::new(Wording::Schema, "max_gen_len").refuse(below());
        assert_eq!(
            schema.message,
            "Malformed input request: #/max_gen_len: 0 is not greater or equal to 1, please \
             reformat your input and try again."
        );
        let tgi = Field::new(Wording::Tgi, "parameters.max_new_tokens").refuse(below());
        assert_eq!((tgi.status.as_u16(), tgi.code), (424, "ModelError"));
        assert!(tgi.message.contains("(422)"));
        assert!(tgi
            .message
            .contains("`max_new_tokens` must be strictly positive"));
        let openai = Field::new(Wording::OpenAi, "max_tokens").refuse(TokensError::InputTooLong {
            input: 9,
            window: 8,
        });
        assert!(openai
            .message
            .contains("maximum context length is 8 tokens"));
    }
}
