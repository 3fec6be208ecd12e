//! The performance model (docs/DESIGN.md, "The performance model"): equations, noise, fitting and
//! prediction. Pure computation: no I/O here.

pub mod anchors;
pub mod error;
pub mod fit;
pub mod levels;
pub mod model;
pub mod noise;
pub mod predict;
pub mod profile;
pub mod published;
pub mod scaled;
pub mod server;
pub mod validate;

pub use error::PerfError;
pub use levels::{Level, Sample};
pub use predict::{FitRange, PerfModel, Prediction};
pub use profile::Profile;
