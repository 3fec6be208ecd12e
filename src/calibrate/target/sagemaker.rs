//! Amazon SageMaker real-time endpoints: `InvokeEndpointWithResponseStream` through the real
//! aws-sdk-sagemakerruntime client, with the payload formats of the common LLM containers.
//!
//! A PayloadPart may split the container's server-sent-event line anywhere, so parts go through
//! a line buffer before they are read.

use aws_sdk_sagemakerruntime::primitives::Blob;
use aws_sdk_sagemakerruntime::types::ResponseStream;
use aws_sdk_sagemakerruntime::Client;
use futures_util::future::BoxFuture;
use serde_json::{json, Value};

use super::aws::{classify, sdk_config, AwsOptions};
use super::chunks::{apply_any_chunk, Line, LineBuffer};
use super::{
    ErrorKind, Exchange, ExchangeRecorder, Target, TargetError, TargetInfo, TargetRequest,
};

/// The request body the endpoint's container expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SagemakerPayload {
    /// TGI / LMI (DJL) `{"inputs", "parameters", "stream"}`; token events back.
    Tgi,
    /// vLLM / TGI Messages API / LMI chat `{"messages", "max_tokens", "stream"}`; OpenAI chunks back.
    Openai,
}

pub struct SagemakerTarget {
    client: Client,
    payload: SagemakerPayload,
    info: TargetInfo,
}

impl SagemakerTarget {
    pub async fn connect(
        endpoint_name: &str,
        payload: SagemakerPayload,
        model_id: Option<String>,
        aws: &AwsOptions,
    ) -> Result<Self, TargetError> {
        if endpoint_name.trim().is_empty() {
            return Err(TargetError::NoEndpointName);
        }
        let config = sdk_config(aws).await?;
        let region = config.region().map(|r| r.to_string());
        Ok(SagemakerTarget {
            client: Client::new(&config),
            payload,
            info: TargetInfo {
                target: "sagemaker".into(),
                model_id: model_id.unwrap_or_else(|| endpoint_name.to_string()),
                endpoint: endpoint_name.to_string(),
                region,
                // Billed per instance-hour while the endpoint exists, not per request.
                paid_per_token: false,
            },
        })
    }

    pub fn body(&self, request: &TargetRequest) -> Value {
        match self.payload {
            SagemakerPayload::Tgi => {
                let mut parameters = json!({
                    "max_new_tokens": request.max_tokens,
                    "details": true,
                });
                if request.fixed_output {
                    parameters["ignore_eos_token"] = json!(true);
                }
                json!({"inputs": request.prompt, "parameters": parameters, "stream": true})
            }
            SagemakerPayload::Openai => {
                let mut body = json!({
                    "messages": [{"role": "user", "content": request.prompt}],
                    "max_tokens": request.max_tokens,
                    "stream": true,
                    "stream_options": {"include_usage": true},
                });
                if request.fixed_output {
                    body["ignore_eos"] = json!(true);
                    body["min_tokens"] = json!(request.max_tokens);
                }
                body
            }
        }
    }

    async fn exchange(&self, request: &TargetRequest) -> Exchange {
        let body = self.body(request);
        let mut recorder = ExchangeRecorder::start();
        let sent = self
            .client
            .invoke_endpoint_with_response_stream()
            .endpoint_name(&self.info.endpoint)
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
        let mut lines = LineBuffer::default();
        loop {
            match output.body.recv().await {
                Ok(Some(ResponseStream::PayloadPart(part))) => {
                    if let Some(bytes) = part.bytes() {
                        for line in lines.push(bytes.as_ref()) {
                            apply_line(line, &mut recorder);
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
        if let Some(line) = lines.finish() {
            apply_line(line, &mut recorder);
        }
        recorder.finish()
    }
}

fn apply_line(line: Line, recorder: &mut ExchangeRecorder) {
    match line {
        Line::Json(value) => apply_any_chunk(&value, recorder),
        Line::Done => {}
        Line::Unreadable(text) => {
            recorder.fail(ErrorKind::ClientError, format!("unreadable chunk: {text}"))
        }
    }
}

impl Target for SagemakerTarget {
    fn info(&self) -> &TargetInfo {
        &self.info
    }

    fn send<'a>(&'a self, request: &'a TargetRequest) -> BoxFuture<'a, Exchange> {
        Box::pin(self.exchange(request))
    }
}
