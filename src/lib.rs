pub mod calibrate;
pub mod perf;
