//! The discrete-event simulator (docs/DESIGN.md, "The simulator"): a profile and a projected workload
//! in; latency, throttles, tokens and instance-hours out. Pure: no I/O.

pub mod bedrock;
pub mod client;
pub mod config;
pub mod control;
pub mod endpoint;
pub mod engine;
pub mod error;
pub mod event;
pub mod metrics;
pub mod request;
pub mod result;
pub mod sagemaker;
pub mod scenario;
pub mod server;
pub mod serverless;

pub use client::ClientPolicy;
pub use config::{EndpointSpec, Load, SimConfig};
pub use control::RunControl;
pub use engine::{run, run_controlled};
pub use error::SimError;
pub use metrics::Slo;
pub use result::SimResult;
