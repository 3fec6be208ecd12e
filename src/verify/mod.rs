//! `llmcap verify`: a plan held to a live endpoint. The scenario's users are driven against
//! it (`drive`), and what they measured is set beside the plan's simulations of the same run
//! (`compare`); `--users auto` steps the population (`plan::knee_search`) to the measured knee.

pub mod compare;
pub mod drive;
pub mod report;
pub mod timeline;
