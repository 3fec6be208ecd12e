//! Amazon Bedrock Runtime: `ConverseStream` (any model, one request shape) or
//! `InvokeModelWithResponseStream` with the model's native body (Anthropic messages, Meta Llama,
//! Amazon Titan/Nova-style `inputText`), through the real aws-sdk-bedrockruntime client.

use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ContentBlockDelta, ConversationRole, ConverseStreamOutput,
    InferenceConfiguration, Message, ResponseStream,
};
use aws_sdk_bedrockruntime::Client;
use futures_util::future::BoxFuture;
use serde_json::{json, Value};

use super::aws::{classify, sdk_config, AwsOptions};
use super::{
    ErrorKind, Exchange, ExchangeRecorder, Target, TargetError, TargetInfo, TargetRequest,
};

/// Which Bedrock operation carries the requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BedrockApi {
    /// ConverseStream: one request shape for every model; usage in the metadata event.
    Converse,
    /// InvokeModelWithResponseStream with the model family's native JSON body.
    Invoke,
}

pub struct BedrockTarget {
    client: Client,
    api: BedrockApi,
    info: TargetInfo,
}

impl BedrockTarget {
    pub async fn connect(
        model_id: &str,
        api: BedrockApi,
        aws: &AwsOptions,
    ) -> Result<Self, TargetError> {
        if model_id.trim().is_empty() {
            return Err(TargetError::NoModelId);
        }
        let config = sdk_config(aws).await?;
        let region = config.region().map(|r| r.to_string());
        let endpoint = aws
            .endpoint_url
            .clone()
            .unwrap_or_else(|| "bedrock-runtime".to_string());
        Ok(BedrockTarget {
            client: Client::new(&config),
            api,
            info: TargetInfo {
                target: "bedrock".into(),
                model_id: model_id.to_string(),
                endpoint,
                region,
                paid_per_token: true,
            },
        })
    }

    async fn converse(&self, request: &TargetRequest) -> Exchange {
        let message = Message::builder()
            .role(ConversationRole::User)
            .content(ContentBlock::Text(request.prompt.clone()))
            .build()
            .expect("role and content are set");
        let mut recorder = ExchangeRecorder::start();
        let sent = self
            .client
            .converse_stream()
            .model_id(&self.info.model_id)
            .messages(message)
            .inference_config(
                InferenceConfiguration::builder()
                    .max_tokens(request.max_tokens as i32)
                    .build(),
            )
            .send()
            .await;
        let mut output = match sent {
            Ok(output) => output,
            Err(error) => {
                let (kind, message) = classify(&error);
                recorder.fail(kind, message);
                return recorder.finish();
            }
        };
        loop {
            match output.stream.recv().await {
                Ok(Some(ConverseStreamOutput::ContentBlockDelta(event))) => {
                    if let Some(ContentBlockDelta::Text(text)) = event.delta() {
                        recorder.content(text);
                    }
                }
                Ok(Some(ConverseStreamOutput::Metadata(event))) => {
                    if let Some(usage) = event.usage() {
                        recorder.input_tokens(usage.input_tokens().max(0) as u64);
                        recorder.output_tokens(usage.output_tokens().max(0) as u64);
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(error) => {
                    let (kind, message) = classify(&error);
                    recorder.fail(kind, message);
                    break;
                }
            }
        }
        recorder.finish()
    }

    async fn invoke(&self, request: &TargetRequest) -> Exchange {
        let family = ModelFamily::of(&self.info.model_id);
        let body = family.body(request);
        let mut recorder = ExchangeRecorder::start();
        let sent = self
            .client
            .invoke_model_with_response_stream()
            .model_id(&self.info.model_id)
            .content_type("application/json")
            .accept("application/json")
            .body(Blob::new(body.to_string()))
            .send()
            .await;
        let mut output = match sent {
            Ok(output) => output,
            Err(error) => {
                let (kind, message) = classify(&error);
                recorder.fail(kind, message);
                return recorder.finish();
            }
        };
        loop {
            match output.body.recv().await {
                Ok(Some(ResponseStream::Chunk(part))) => {
                    let Some(bytes) = part.bytes() else { continue };
                    match serde_json::from_slice::<Value>(bytes.as_ref()) {
                        Ok(chunk) => apply_native_chunk(&chunk, &mut recorder),
                        Err(e) => {
                            recorder.fail(ErrorKind::ClientError, format!("unreadable chunk: {e}"))
                        }
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(error) => {
                    let (kind, message) = classify(&error);
                    recorder.fail(kind, message);
                    break;
                }
            }
        }
        recorder.finish()
    }
}

impl Target for BedrockTarget {
    fn info(&self) -> &TargetInfo {
        &self.info
    }

    fn send<'a>(&'a self, request: &'a TargetRequest) -> BoxFuture<'a, Exchange> {
        match self.api {
            BedrockApi::Converse => Box::pin(self.converse(request)),
            BedrockApi::Invoke => Box::pin(self.invoke(request)),
        }
    }
}

/// Native request bodies differ by model family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelFamily {
    Anthropic,
    MetaLlama,
    /// Amazon Titan text and Mistral-style `prompt` bodies are close enough to share one shape.
    Other,
}

impl ModelFamily {
    pub fn of(model_id: &str) -> ModelFamily {
        // Inference-profile ids are prefixed by a geography: `us.anthropic.…`, `eu.meta.…`.
        if model_id.contains("anthropic.") {
            ModelFamily::Anthropic
        } else if model_id.contains("meta.") {
            ModelFamily::MetaLlama
        } else {
            ModelFamily::Other
        }
    }

    pub fn body(self, request: &TargetRequest) -> Value {
        match self {
            ModelFamily::Anthropic => json!({
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": request.max_tokens,
                "messages": [{"role": "user", "content": request.prompt}],
            }),
            ModelFamily::MetaLlama => json!({
                "prompt": format!(
                    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|>\
                     <|start_header_id|>assistant<|end_header_id|>\n\n",
                    request.prompt
                ),
                "max_gen_len": request.max_tokens,
            }),
            ModelFamily::Other => json!({
                "prompt": request.prompt,
                "max_tokens": request.max_tokens,
            }),
        }
    }
}

/// One streamed chunk of a native body: Anthropic `content_block_delta` / `message_start` /
/// `message_delta`, Llama `generation`, or others' `outputText`/`completion`; every family's last
/// chunk carries `amazon-bedrock-invocationMetrics` with the billed token counts.
pub fn apply_native_chunk(chunk: &Value, recorder: &mut ExchangeRecorder) {
    let text = chunk
        .pointer("/delta/text")
        .or_else(|| chunk.get("generation"))
        .or_else(|| chunk.get("outputText"))
        .or_else(|| chunk.get("completion"))
        .and_then(Value::as_str)
        .unwrap_or("");
    recorder.content(text);
    if let Some(n) = chunk
        .pointer("/message/usage/input_tokens")
        .or_else(|| chunk.get("prompt_token_count"))
        .and_then(Value::as_u64)
    {
        recorder.input_tokens(n);
    }
    if let Some(n) = chunk
        .pointer("/usage/output_tokens")
        .and_then(Value::as_u64)
    {
        recorder.output_tokens(n);
    }
    if let Some(metrics) = chunk.get("amazon-bedrock-invocationMetrics") {
        if let Some(n) = metrics.get("inputTokenCount").and_then(Value::as_u64) {
            recorder.input_tokens(n);
        }
        if let Some(n) = metrics.get("outputTokenCount").and_then(Value::as_u64) {
            recorder.output_tokens(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_follow_the_model_id_including_inference_profiles() {
        assert_eq!(
            ModelFamily::of("us.anthropic.claude-3-5-sonnet-20241022-v2:0"),
            ModelFamily::Anthropic
        );
        assert_eq!(
            ModelFamily::of("meta.llama3-3-70b-instruct-v1:0"),
            ModelFamily::MetaLlama
        );
        assert_eq!(ModelFamily::of("mistral.mistral-large"), ModelFamily::Other);
    }

    #[test]
    fn native_chunks_give_text_and_billed_tokens() {
        let mut recorder = ExchangeRecorder::start();
        for chunk in [
            json!({"type": "message_start", "message": {"usage": {"input_tokens": 12}}}),
            json!({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Hi"}}),
            json!({"type": "message_delta", "usage": {"output_tokens": 3}}),
            json!({"generation": " there", "amazon-bedrock-invocationMetrics":
                   {"inputTokenCount": 13, "outputTokenCount": 4}}),
        ] {
            apply_native_chunk(&chunk, &mut recorder);
        }
        let exchange = recorder.finish();
        assert_eq!(exchange.chunk_times.len(), 2);
        assert_eq!(exchange.input_tokens, Some(13));
        assert_eq!(exchange.output_tokens, Some(4));
    }
}
