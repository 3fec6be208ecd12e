//! What people read: terminal tables now; exports, charts and HTML as they arrive.

pub mod calibration_table;
pub mod charts;
pub mod export;
pub mod tables;
