//! One module per command: read inputs, call the pure computation, print or write results.

mod fit;
mod predict;

use anyhow::Result;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Fit(args) => fit::run(&args),
        Command::Predict(args) => predict::run(&args),
    }
}
