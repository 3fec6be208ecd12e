//! Bedrock's quota accounting (pure): bedrock-runtime's and bedrock-mantle's bucket semantics,
//! used by the simulator and the emulator.

pub mod bucket;

pub use bucket::{
    Ask, Charge, InferenceEndpoint, MantleLimits, Quota, QuotaLimits, QuotaState, Reservation,
    ThrottleReason, Used,
};
