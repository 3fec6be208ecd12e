//! TPM/RPM accounting (pure): Bedrock's bucket semantics, used by the simulator and the emulator.

pub mod bucket;

pub use bucket::{QuotaLimits, QuotaState, Reservation, ThrottleReason};
