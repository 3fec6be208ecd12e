//! `llmcap workloads`: the built-in workload profiles.

use anyhow::Result;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use crate::cli::WorkloadsArgs;
use crate::workload::profiles;

pub fn run(args: &WorkloadsArgs) -> Result<()> {
    let workloads = profiles::builtin();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&workloads)?);
        return Ok(());
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "name",
        "concurrency",
        "mean input tok",
        "mean output tok",
        "streaming",
        "multi-turn",
        "description",
    ]);
    for w in &workloads {
        let turns = w.turns_per_session;
        let mean_input = w.mean_prompt();
        table.add_row(vec![
            w.name.clone(),
            w.concurrency.to_string(),
            format!("{mean_input:.0}"),
            format!("{:.0}", w.mean_reply()),
            if w.streaming { "yes" } else { "no" }.into(),
            if w.multi_turn() {
                format!("{turns} turns")
            } else {
                "no".into()
            },
            w.description.clone(),
        ]);
    }
    println!("{table}");
    Ok(())
}
