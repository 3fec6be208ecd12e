//! `llmcap emulate`: a loopback digital twin of Bedrock Runtime and SageMaker Runtime. The real
//! AWS SDKs talk to it as to the service (endpoint_url), and it answers with a profile's timing,
//! token counts, Bedrock's quota arithmetic (`crate::quota::bucket`, shared with the simulator)
//! and injected faults.
//!
//! Paths: Bedrock `POST /model/{modelId}/converse`, `/converse-stream`, `/invoke`,
//! `/invoke-with-response-stream`; SageMaker `POST /endpoints/{name}/invocations`,
//! `/invocations-response-stream`. Requests must carry a SigV4 `Authorization` header (its
//! presence is checked, not its signature).
//!
//! With an upstream (`upstream.rs`), a real OpenAI-compatible server generates and the
//! emulator only admits and re-frames.

mod bedrock;
pub mod behaviour;
mod errors;
mod frames;
mod prompt;
mod sagemaker;
mod start_error;
mod stream;
pub mod text;
pub mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::serve::ListenerExt;
use axum::Router;
use tokio::sync::oneshot;

use behaviour::Behaviour;
pub use behaviour::Faults;
pub use errors::{AwsError, Service};
pub use start_error::StartError;

use upstream::Upstream;

use crate::perf::Profile;
use crate::quota::bucket::QuotaLimits;

/// The SageMaker endpoint name the emulator always serves.
pub const DEFAULT_ENDPOINT_NAME: &str = "llmcap-emulator";

#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    pub profile: Profile,
    /// Bedrock on-demand quota; `None` never throttles.
    pub quota: Option<QuotaLimits>,
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
}

impl EmulatorConfig {
    pub fn new(profile: Profile) -> EmulatorConfig {
        EmulatorConfig {
            profile,
            quota: None,
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
}

impl App {
    fn check_signed(&self, headers: &HeaderMap, service: Service) -> Result<(), AwsError> {
        let signed = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256"));
        if signed {
            return Ok(());
        }
        Err(match service {
            Service::Bedrock => AwsError::new(
                403,
                "AccessDeniedException",
                "Missing Authentication Token: requests must be signed with SigV4.",
            ),
            Service::Sagemaker => AwsError::new(
                403,
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            ),
        })
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
}

impl Emulator {
    /// Binds 127.0.0.1 and serves on the current tokio runtime.
    pub async fn start(config: EmulatorConfig) -> Result<Emulator, StartError> {
        config.profile.check().map_err(StartError::Profile)?;
        let behaviour = Behaviour::new(
            config.profile.model.clone(),
            config.quota.clone(),
            config.faults.clone(),
            config.noise,
            config.seed,
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
            .fallback(|| async {
                AwsError::new(404, "UnknownOperationException", "Unknown operation").into_response()
            })
            // The handlers check the services' own limits and answer in their shapes; axum's
            // default 2 MB limit would answer first, in its own.
            .layer(DefaultBodyLimit::max(bedrock::MAX_BODY_BYTES * 2))
            .with_state(app);
        let bind_error = |cause| StartError::Bind {
            port: config.port,
            cause,
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
            .await
            .map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        // Small event frames must not wait for ACKs (Nagle + delayed ACK adds ~40 ms).
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let served = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Emulator {
            addr,
            stop: Some(stop),
            served: Some(served),
            behaviour,
            upstream,
        })
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

    /// Stops accepting and waits for open responses to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(served) = self.served.take() {
            let _ = served.await;
        }
    }

    /// Serves until the task is cancelled or the server fails.
    pub async fn wait(mut self) {
        if let Some(served) = self.served.take() {
            let _ = served.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
