//! Physics of serving a model: precisions, accelerators, model architectures and the roofline
//! floors they set on a decode step and a prefill (docs/DESIGN.md, "Physics"). Pure
//! computation, below the performance model and the planners, which both use it.

pub mod accelerator;
pub mod architecture;
pub mod efficiency;
pub mod precision;
pub mod roofline;

pub use accelerator::Accelerator;
pub use architecture::{Architecture, Experts};
pub use precision::{Arithmetic, Precision};
pub use roofline::Roofline;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PhysicsError {
    #[error("a model copy needs at least one accelerator (--count)")]
    Count,
    #[error("accelerator `{accelerator}` lists no arithmetic that runs {precision} weights (catalog/hardware.toml, dense_tflops)")]
    NoArithmetic {
        accelerator: String,
        precision: &'static str,
    },
}
