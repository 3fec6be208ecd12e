//! Shared by the calibrate tests: a fixed-latency server on its own runtime thread, and
//! reading a run directory back.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use llmcap::calibrate::fixed_server::{FixedLatency, FixedServer};
use llmcap::calibrate::manifest::Manifest;
use llmcap::calibrate::record::RequestRecord;
use llmcap::calibrate::run_dir::read_records;

/// A fixed-latency OpenAI-compatible server; stops when dropped.
pub struct ServerThread {
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerThread {
    pub fn start(ttft_ms: u64, itl_ms: u64, throttle_every: Option<u64>) -> ServerThread {
        ServerThread::serve(FixedLatency {
            ttft: Duration::from_millis(ttft_ms),
            itl: Duration::from_millis(itl_ms),
            throttle_every,
            slots: None,
        })
    }

    /// A fixed-latency server that serves at most `slots` requests at once.
    #[allow(dead_code)]
    pub fn start_with_slots(ttft_ms: u64, itl_ms: u64, slots: u32) -> ServerThread {
        ServerThread::serve(FixedLatency {
            ttft: Duration::from_millis(ttft_ms),
            itl: Duration::from_millis(itl_ms),
            throttle_every: None,
            slots: Some(slots),
        })
    }

    fn serve(latency: FixedLatency) -> ServerThread {
        let (url_sender, url_receiver) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let server = FixedServer::start(latency, 0).await.unwrap();
                url_sender.send(server.url()).unwrap();
                let _ = stopped.await;
            });
        });
        ServerThread {
            url: url_receiver.recv().unwrap(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub fn manifest(dir: &Path) -> Manifest {
    let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

pub fn records(dir: &Path) -> Vec<RequestRecord> {
    read_records(&dir.join("requests.csv")).unwrap()
}

/// Rows in a Parquet file, read with polars.
/// Each level's concurrency, prompt size and output tokens/s, from `levels.csv`.
pub fn level_rates(dir: &Path) -> Vec<(u32, u32, f64)> {
    #[derive(serde::Deserialize)]
    struct Row {
        concurrency: u32,
        prompt_tokens_target: u32,
        output_tokens_per_s: f64,
    }
    let mut reader = csv::Reader::from_path(dir.join("levels.csv")).unwrap();
    reader
        .deserialize::<Row>()
        .map(|row| {
            let row = row.unwrap();
            (
                row.concurrency,
                row.prompt_tokens_target,
                row.output_tokens_per_s,
            )
        })
        .collect()
}

pub fn parquet_rows(path: &Path) -> usize {
    use polars::prelude::{ParquetReader, SerReader};
    let file = std::fs::File::open(path).unwrap();
    ParquetReader::new(file).finish().unwrap().height()
}

/// The synthetic fast profile in tests/fixtures/emulator-fast.toml.
pub fn fast_profile() -> llmcap::perf::Profile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/emulator-fast.toml");
    llmcap::perf::Profile::from_toml_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub const FAST_MODEL: &str = "test.fast-model-v1:0";

/// The emulator's default keys.
pub const KEY_ID: &str = "test";
pub const SECRET: &str = "test";

/// The real Bedrock Runtime client, pointed at the emulator, measuring as calibrate does.
pub fn bedrock_client(url: &str) -> aws_sdk_bedrockruntime::Client {
    bedrock_client_signed(url, KEY_ID, SECRET, None)
}

/// A Bedrock client signing with these keys, with an interceptor if given.
pub fn bedrock_client_signed(
    url: &str,
    key_id: &str,
    secret: &str,
    interceptor: Option<RewriteBody>,
) -> aws_sdk_bedrockruntime::Client {
    use aws_sdk_bedrockruntime::config::retry::RetryConfig;
    use aws_sdk_bedrockruntime::config::{
        BehaviorVersion, Credentials, Region, StalledStreamProtectionConfig,
    };
    let mut config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(Credentials::new(key_id, secret, None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
    if let Some(interceptor) = interceptor {
        config = config.interceptor(interceptor);
    }
    aws_sdk_bedrockruntime::Client::from_conf(config.build())
}

/// The real SageMaker Runtime client, pointed at the emulator.
pub fn sagemaker_client(url: &str) -> aws_sdk_sagemakerruntime::Client {
    sagemaker_client_signed(url, KEY_ID, SECRET, None)
}

pub fn sagemaker_client_signed(
    url: &str,
    key_id: &str,
    secret: &str,
    interceptor: Option<RewriteBody>,
) -> aws_sdk_sagemakerruntime::Client {
    use aws_sdk_sagemakerruntime::config::retry::RetryConfig;
    use aws_sdk_sagemakerruntime::config::{
        BehaviorVersion, Credentials, Region, StalledStreamProtectionConfig,
    };
    let mut config = aws_sdk_sagemakerruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(url)
        .credentials_provider(Credentials::new(key_id, secret, None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
    if let Some(interceptor) = interceptor {
        config = config.interceptor(interceptor);
    }
    aws_sdk_sagemakerruntime::Client::from_conf(config.build())
}

/// When a `RewriteBody` interceptor changes the request body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Moment {
    /// Before signing: the SDK signs the new body (sends what its typed API cannot).
    BeforeSigning,
    /// After signing: the body on the wire no longer matches the signature.
    AfterSigning,
}

/// An SDK interceptor that replaces the request body's bytes (same length when after signing,
/// so Content-Length still holds).
#[derive(Clone, Debug)]
pub struct RewriteBody {
    pub moment: Moment,
    pub rewrite: fn(Vec<u8>) -> Vec<u8>,
}

type BoxError = aws_sdk_bedrockruntime::error::BoxError;
type ContextMut<'a> =
    aws_sdk_bedrockruntime::config::interceptors::BeforeTransmitInterceptorContextMut<'a>;

impl RewriteBody {
    fn apply(&self, context: &mut ContextMut<'_>) -> Result<(), BoxError> {
        let request = context.request_mut();
        let body = request
            .body()
            .bytes()
            .ok_or("a streaming body cannot be rewritten")?
            .to_vec();
        let body = (self.rewrite)(body);
        let length = body.len();
        *request.body_mut() = aws_smithy_types::body::SdkBody::from(body);
        if self.moment == Moment::BeforeSigning {
            request
                .headers_mut()
                .insert("content-length", length.to_string());
        }
        Ok(())
    }
}

impl aws_sdk_bedrockruntime::config::Intercept for RewriteBody {
    fn name(&self) -> &'static str {
        "RewriteBody"
    }

    fn modify_before_signing(
        &self,
        context: &mut ContextMut<'_>,
        _: &aws_sdk_bedrockruntime::config::RuntimeComponents,
        _: &mut aws_sdk_bedrockruntime::config::ConfigBag,
    ) -> Result<(), BoxError> {
        match self.moment {
            Moment::BeforeSigning => self.apply(context),
            Moment::AfterSigning => Ok(()),
        }
    }

    fn modify_before_transmit(
        &self,
        context: &mut ContextMut<'_>,
        _: &aws_sdk_bedrockruntime::config::RuntimeComponents,
        _: &mut aws_sdk_bedrockruntime::config::ConfigBag,
    ) -> Result<(), BoxError> {
        match self.moment {
            Moment::BeforeSigning => Ok(()),
            Moment::AfterSigning => self.apply(context),
        }
    }
}

/// A Converse user turn.
pub fn user(text: &str) -> aws_sdk_bedrockruntime::types::Message {
    use aws_sdk_bedrockruntime::types::{ContentBlock, ConversationRole, Message};
    Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text(text.to_string()))
        .build()
        .unwrap()
}

pub fn max_tokens(n: i32) -> aws_sdk_bedrockruntime::types::InferenceConfiguration {
    aws_sdk_bedrockruntime::types::InferenceConfiguration::builder()
        .max_tokens(n)
        .build()
}

/// A loopback URL where nothing listens (a port just bound and released).
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}
