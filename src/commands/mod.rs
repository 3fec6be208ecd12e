//! One module per command: read inputs, call the pure computation, print or write results.

mod actual;
mod bench_client;
mod bench_sim;
pub(crate) mod calibrate;
mod emulate;
pub(crate) mod fit;
mod forecast;
mod init;
pub(crate) mod plan;
mod predict;
mod pricing;
mod profile_from_hardware;
mod profile_from_ranges;
mod report;
mod sim_watch;
mod simulate;
pub mod units;
mod validate;
mod verify;
mod workload_fit;
mod workloads;

use anyhow::Result;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Calibrate(args) => calibrate::run(&args),
        Command::Emulate(args) => emulate::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Fit(args) => fit::run(&args),
        Command::Predict(args) => predict::run(&args),
        Command::Validate(args) => validate::run(&args),
        Command::ProfileFromHardware(args) => profile_from_hardware::run(&args),
        Command::Simulate(args) => simulate::run(&args),
        Command::Workloads(args) => workloads::run(&args),
        Command::BenchClient(args) => bench_client::run(&args),
        Command::BenchSim(args) => bench_sim::run(&args),
        Command::ProfileFromRanges(args) => profile_from_ranges::run(&args),
        Command::Pricing(args) => pricing::run(&args),
        Command::Plan(args) => plan::run(&args),
        Command::Forecast(args) => forecast::run(&args),
        Command::Capacity(args) => plan::run_view(plan::PlannerView::Capacity, &args),
        Command::Quota(args) => plan::run_view(plan::PlannerView::Quota, &args),
        Command::Cost(args) => plan::run_view(plan::PlannerView::Cost, &args),
        Command::Breakeven(args) => plan::run_view(plan::PlannerView::Breakeven, &args),
        Command::Budget(args) => plan::run_view(plan::PlannerView::Budget, &args),
        Command::Actual(args) => actual::run(&args),
        Command::Workload(args) => workload_fit::run(&args),
        Command::Init(args) => init::run(&args),
        Command::Verify(args) => verify::run(&args),
    }
}
