//! `llmcap emulate`: a loopback digital twin of Bedrock Runtime, Bedrock's mantle endpoint and
//! SageMaker Runtime. The real AWS (and OpenAI and Anthropic) SDKs talk to it as to the service
//! (endpoint_url, base_url), and it answers with a profile's timing, token counts, Bedrock's
//! quota arithmetic (`crate::quota::bucket`, shared with the simulator) and injected faults.
//!
//! Paths: Bedrock `POST /model/{modelId}/converse`, `/converse-stream`, `/invoke`,
//! `/invoke-with-response-stream`; SageMaker `POST /endpoints/{name}/invocations`,
//! `/invocations-response-stream`; Bedrock's bedrock-mantle endpoint (`mantle/`) `POST
//! /v1/chat/completions` (OpenAI Chat Completions) and `POST /v1/messages` (Anthropic Messages),
//! authenticated with a Bedrock API key (`Authorization: Bearer KEY` or `x-api-key: KEY`), with
//! mantle's own quota (separate input and output tokens per minute, cache reads exempt) and a
//! prompt cache (`prompt_cache.rs`). As strict as the services: every request's SigV4 signature
//! on the bedrock-runtime and SageMaker paths is verified against the configured keys
//! (`sigv4.rs`), bodies over the services' size limits and output limits or prompts the model
//! cannot take are refused in the services' words (`inbound.rs`, `limits.rs`, `refusal.rs`),
//! and idle connections are closed (`serve.rs`). Hostile input is bounded: credentials are
//! checked before a body is read, every body must arrive within the body deadline, and bodies
//! kept before their signature can be checked share a byte budget (`inbound.rs`).
//!
//! With an upstream (`upstream.rs`), a real OpenAI-compatible server generates and the
//! emulator only admits and re-frames.

mod bedrock;
pub mod behaviour;
mod errors;
mod frames;
#[cfg(test)]
mod fuzz;
mod inbound;
pub mod limits;
mod mantle;
pub mod meter;
mod prompt;
mod prompt_cache;
mod refusal;
mod sagemaker;
mod serve;
pub mod sigv4;
mod start_error;
mod stream;
pub mod text;
pub mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use tokio::sync::oneshot;

use behaviour::Behaviour;
pub use behaviour::Faults;
pub use errors::{AwsError, Service};
pub use inbound::{body_deadline, MAX_BODY_DEADLINE, UNVERIFIED_BODY_BYTES};
pub use limits::ModelLimits;
pub use meter::{CloudWatchOut, Meter, WallClock};
pub use sigv4::Credentials;
pub use start_error::StartError;

use upstream::Upstream;

use crate::perf::Profile;
use crate::quota::bucket::{MantleLimits, QuotaLimits};

/// The SageMaker endpoint name the emulator always serves.
pub const DEFAULT_ENDPOINT_NAME: &str = "llmcap-emulator";

/// The mantle paths' API key unless configured, like the SigV4 keys' `test`/`test`.
pub const DEFAULT_API_KEY: &str = "test";

/// How long a connection may wait for its next request before the emulator closes it: 60 s,
/// the default idle timeout of AWS's Elastic Load Balancing (an assumption for the services'
/// own front ends, which document none).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    pub profile: Profile,
    /// Bedrock on-demand quota on the bedrock-runtime paths; `None` never throttles.
    pub quota: Option<QuotaLimits>,
    /// The bedrock-mantle paths' quota (input and output tokens per minute), separate from
    /// bedrock-runtime's as on the service; `None` never throttles.
    pub mantle_quota: Option<MantleLimits>,
    pub faults: Faults,
    /// Draw TTFT and TPOT noise from the profile; off, every request gets the medians.
    pub noise: bool,
    pub seed: u64,
    /// Bedrock model ids served besides the profile's own.
    pub model_ids: Vec<String>,
    /// SageMaker endpoint names served besides `llmcap-emulator`.
    pub endpoint_names: Vec<String>,
    /// Serve any model id or endpoint name.
    pub accept_any_model: bool,
    /// SageMaker's invocation time limit (60 s on the service).
    pub invocation_timeout: Duration,
    /// 0 picks a free port.
    pub port: u16,
    /// Proxy mode: an OpenAI-compatible server's URL that generates instead of the profile.
    pub upstream_url: Option<String>,
    /// The upstream's model name (`None`: the first from its `GET /v1/models`).
    pub upstream_model: Option<String>,
    /// The keys every bedrock-runtime and SageMaker request must be signed with.
    pub credentials: Credentials,
    /// The Bedrock API key the mantle paths take (`Authorization: Bearer` or `x-api-key`).
    pub api_key: String,
    /// The model's context window and output limit (from the profile's `[limits]`).
    pub limits: ModelLimits,
    /// Connections idle this long are closed; a request's body must arrive within this or
    /// `MAX_BODY_DEADLINE`, whichever is smaller (`body_deadline`).
    pub idle_timeout: Duration,
    /// The bytes of request bodies kept at once before their signatures can be checked
    /// (`UNVERIFIED_BODY_BYTES`); a body past it is refused with the service's 503 (always, if
    /// it is larger than the whole budget).
    pub unverified_body_bytes: usize,
    /// Write the CloudWatch metrics of the Bedrock traffic served here, after every period
    /// and at shutdown.
    pub cloudwatch: Option<CloudWatchOut>,
    /// Append each bedrock-runtime invocation here, as Bedrock's model invocation log would.
    pub invocation_log: Option<std::path::PathBuf>,
    /// The clock CloudWatch periods and invocation-log records are stamped with (the system's
    /// unless a caller replays a day faster than it passes).
    pub wall_clock: WallClock,
}

impl EmulatorConfig {
    pub fn new(profile: Profile) -> EmulatorConfig {
        EmulatorConfig {
            quota: None,
            mantle_quota: None,
            faults: Faults::default(),
            noise: true,
            seed: 1,
            model_ids: Vec::new(),
            endpoint_names: Vec::new(),
            accept_any_model: false,
            invocation_timeout: sagemaker::INVOCATION_TIMEOUT,
            port: 0,
            upstream_url: None,
            upstream_model: None,
            credentials: Credentials::default(),
            api_key: DEFAULT_API_KEY.to_string(),
            limits: ModelLimits::of(&profile),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            unverified_body_bytes: UNVERIFIED_BODY_BYTES,
            cloudwatch: None,
            invocation_log: None,
            wall_clock: WallClock::system(),
            profile,
        }
    }
}

/// What the handlers share.
pub(crate) struct App {
    behaviour: Arc<Behaviour>,
    model_ids: Vec<String>,
    endpoint_names: Vec<String>,
    accept_any: bool,
    invocation_timeout: Duration,
    /// Proxy mode's generator; `None` paces filler text from the profile.
    upstream: Option<Upstream>,
    /// Authenticates and reads the bedrock-runtime and SageMaker requests; times every body.
    inbound: inbound::Inbound,
    /// The mantle paths' API key.
    api_key: String,
    limits: ModelLimits,
    /// The prompt cache (bedrock-mantle's paths and Converse's `cachePoint`s).
    prompt_cache: prompt_cache::PromptCache,
}

impl App {
    /// The body of a request that is within the service's size limit and correctly signed.
    async fn receive(&self, service: Service, request: Request) -> Result<Bytes, AwsError> {
        self.inbound.receive(service, request).await
    }

    fn knows_model(&self, model_id: &str) -> bool {
        self.accept_any || self.model_ids.iter().any(|m| m == model_id)
    }

    fn knows_endpoint(&self, name: &str) -> bool {
        self.accept_any || self.endpoint_names.iter().any(|e| e == name)
    }
}

/// A running emulator; dropping it stops it.
pub struct Emulator {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<()>>,
    behaviour: Arc<Behaviour>,
    upstream: Option<Upstream>,
    meter: Arc<Meter>,
    cloudwatch: Option<CloudWatchOut>,
    /// Rewrites the CloudWatch export after every period.
    writer: Option<tokio::task::JoinHandle<()>>,
}

impl Emulator {
    /// Binds 127.0.0.1 and serves on the current tokio runtime.
    pub async fn start(config: EmulatorConfig) -> Result<Emulator, StartError> {
        config.profile.check().map_err(StartError::Profile)?;
        let keys = &config.credentials;
        if keys.access_key_id.is_empty() || keys.secret_access_key.is_empty() {
            return Err(StartError::EmptyCredentials);
        }
        if config.api_key.trim().is_empty() {
            return Err(StartError::EmptyApiKey);
        }
        if config.idle_timeout.is_zero() {
            return Err(StartError::ZeroIdleTimeout);
        }
        if config.unverified_body_bytes == 0 {
            return Err(StartError::ZeroBodyBudget);
        }
        let period = config
            .cloudwatch
            .as_ref()
            .map_or(60, |c| c.period.as_secs());
        if config.cloudwatch.is_some() && period == 0 {
            return Err(StartError::ZeroCloudWatchPeriod);
        }
        let meter = Meter::new(period).with_clock(config.wall_clock.clone());
        let meter = match &config.invocation_log {
            Some(path) => meter
                .with_invocation_log(path)
                .map_err(|e| StartError::InvocationLog(format!("{}: {e}", path.display())))?,
            None => meter,
        };
        let meter = Arc::new(meter);
        let behaviour = Behaviour::new(
            config.profile.model.clone(),
            config.quota.clone(),
            config.mantle_quota.clone(),
            config.faults.clone(),
            config.noise,
            config.seed,
            Arc::clone(&meter),
        );
        let upstream = match &config.upstream_url {
            Some(url) => Some(Upstream::connect(url, config.upstream_model.clone()).await?),
            None => None,
        };
        let mut model_ids = config.model_ids.clone();
        model_ids.push(config.profile.model_id.clone());
        let mut endpoint_names = config.endpoint_names.clone();
        endpoint_names.push(DEFAULT_ENDPOINT_NAME.to_string());
        let app = Arc::new(App {
            behaviour: Arc::clone(&behaviour),
            model_ids,
            endpoint_names,
            accept_any: config.accept_any_model,
            invocation_timeout: config.invocation_timeout,
            upstream: upstream.clone(),
            inbound: inbound::Inbound::new(
                config.credentials.clone(),
                config.unverified_body_bytes,
                body_deadline(config.idle_timeout),
            ),
            api_key: config.api_key.clone(),
            limits: config.limits,
            prompt_cache: prompt_cache::PromptCache::default(),
        });
        let router = Router::new()
            .route("/model/{model_id}/converse", post(bedrock::converse))
            .route(
                "/model/{model_id}/converse-stream",
                post(bedrock::converse_stream),
            )
            .route("/model/{model_id}/invoke", post(bedrock::invoke))
            .route(
                "/model/{model_id}/invoke-with-response-stream",
                post(bedrock::invoke_stream),
            )
            .route(
                "/endpoints/{endpoint}/invocations",
                post(sagemaker::invoke_endpoint),
            )
            .route(
                "/endpoints/{endpoint}/invocations-response-stream",
                post(sagemaker::invoke_endpoint_stream),
            )
            .route("/v1/chat/completions", post(mantle::chat_completions))
            .route("/v1/messages", post(mantle::messages))
            .fallback(|| async {
                AwsError::new(404, "UnknownOperationException", "Unknown operation").into_response()
            })
            .with_state(app);
        let bind_error = |cause| StartError::Bind {
            port: config.port,
            cause,
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
            .await
            .map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(serve::serve(listener, router, config.idle_timeout, stopped));
        let writer = match &config.cloudwatch {
            Some(out) => {
                // Written once at start, so the file exists (empty) from the first moment.
                meter
                    .write(&out.path)
                    .map_err(|e| StartError::CloudWatch(e.to_string()))?;
                Some(tokio::spawn(write_every_period(
                    Arc::clone(&meter),
                    out.path.clone(),
                )))
            }
            None => None,
        };
        Ok(Emulator {
            addr,
            stop: Some(stop),
            served: Some(served),
            behaviour,
            upstream,
            meter,
            cloudwatch: config.cloudwatch,
            writer,
        })
    }

    /// The CloudWatch metrics counted so far.
    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// The meter, to write from outside once the emulator is being stopped.
    pub fn meter_handle(&self) -> Arc<Meter> {
        Arc::clone(&self.meter)
    }

    /// Writes the CloudWatch export now, if one is configured.
    pub fn write_cloudwatch(&self) -> Result<(), crate::files::FileError> {
        match &self.cloudwatch {
            Some(out) => self.meter.write(&out.path),
            None => Ok(()),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Proxy mode's upstream, if any.
    pub fn upstream(&self) -> Option<&Upstream> {
        self.upstream.as_ref()
    }

    /// Requests generating right now.
    pub fn in_flight(&self) -> u32 {
        self.behaviour.in_flight()
    }

    /// Stops accepting and waits for open responses to end (and writes the CloudWatch export a
    /// last time, reporting a failed write on stderr; `finish` returns it instead).
    pub async fn shutdown(self) {
        if let Err(e) = self.finish().await {
            eprintln!("warning: CloudWatch export: {e}");
        }
    }

    /// Stops accepting, waits for open responses to end, then writes the CloudWatch export a
    /// last time: every served request is in the file once this returns.
    pub async fn finish(mut self) -> Result<(), crate::files::FileError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            let _ = served.await;
        }
        if let Some(writer) = self.writer.take() {
            writer.abort();
        }
        self.write_cloudwatch()
    }

    /// Serves until the task is cancelled or the server fails.
    pub async fn wait(&mut self) {
        if let Some(served) = self.served.as_mut() {
            let _ = served.await;
            self.served = None;
        }
    }
}

/// Rewrites the export just after every period boundary (a failed write is reported and
/// tried again at the next).
async fn write_every_period(meter: Arc<Meter>, path: std::path::PathBuf) {
    loop {
        tokio::time::sleep(meter.until_next_period()).await;
        if let Err(e) = meter.write(&path) {
            eprintln!("warning: CloudWatch export: {e}");
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(writer) = self.writer.take() {
            writer.abort();
            // Dropped without shutdown: keep what was counted.
            let _ = self.write_cloudwatch();
        }
    }
}
