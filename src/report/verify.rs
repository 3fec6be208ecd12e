//! verify's terminal table and verify.md, from the typed [`VerifyReport`].

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use crate::verify::compare::{Figure, Verdict};
use crate::verify::report::{MeasuredKnee, PlanKnee, StepReport, VerifyReport};

fn value(name: &str, v: f64) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    if name.contains("rate") {
        crate::format::percent(v)
    } else if name.contains("(s)") {
        format!("{v:.3}")
    } else if name.contains("in flight") {
        format!("{v:.1}")
    } else {
        crate::format::thousands(v)
    }
}

fn row(f: &Figure) -> [String; 5] {
    [
        f.name.clone(),
        value(&f.name, f.measured),
        value(&f.name, f.simulated),
        format!(
            "{} – {}",
            value(&f.name, f.interval[0]),
            value(&f.name, f.interval[1])
        ),
        verdict(f),
    ]
}

/// The verdict, with how far outside the interval a figure fell.
fn verdict(f: &Figure) -> String {
    let off = |bound: f64| {
        if bound.abs() > 0.0 && bound.is_finite() {
            format!(" ({:+.1} %)", (f.measured / bound - 1.0) * 100.0)
        } else {
            String::new()
        }
    };
    match f.verdict {
        Verdict::Inside => "inside".into(),
        Verdict::Above => format!("above{}", off(f.interval[1])),
        Verdict::Below => format!("below{}", off(f.interval[0])),
    }
}

const HEADER: [&str; 5] = [
    "figure",
    "measured",
    "simulated (median)",
    "90 % interval",
    "verdict",
];

fn step_conclusion(r: &VerifyReport, s: &StepReport) -> String {
    format!(
        "{} users on `{}`: the SLO (p95 TTFT ≤ {} s, p95 TPOT ≤ {} s, errors ≤ {}) {} as measured (p95 TTFT {:.3} s, p95 TPOT {:.3} s, errors {}, {} requests); {} the plan's 90 % intervals.",
        s.users,
        r.option,
        r.slo_ttft_p95_s,
        r.slo_tpot_p95_s,
        crate::format::percent(r.slo_max_error_rate),
        if s.holds_slo { "held" } else { "did not hold" },
        s.measured.ttft_p95_s,
        s.measured.tpot_p95_s,
        crate::format::percent(s.measured.error_rate),
        s.requests,
        if s.agrees_with_plan {
            "every figure fell inside"
        } else {
            "not every figure fell inside"
        }
    )
}

/// The plan's knee, in a sentence.
pub fn plan_knee_sentence(k: &PlanKnee) -> String {
    let server = if k.slow_factor <= 1.0 && k.fast_factor >= 1.0 {
        "the profile gives no fit interval there".to_string()
    } else {
        format!(
            "with the server {:.2}× slower and {:.2}× faster, the ends of the profile's fit bands there",
            k.slow_factor,
            1.0 / k.fast_factor.max(1e-9)
        )
    };
    format!(
        "The plan's knee for this endpoint: {}{} users; a search of runs this long should measure {}–{} (90 %: the knees of the plan's seeded runs of this length, {server}).",
        if k.at_search_limit { "at least " } else { "" },
        k.users,
        k.low,
        k.high,
    )
}

fn measured_knee_sentence(m: &MeasuredKnee, plan: &PlanKnee) -> String {
    let found = match m.broke_at {
        Some(b) if m.users == 0 => format!("the SLO broke even at {b} user(s)"),
        Some(b) => format!(
            "the SLO held at {} users and broke at {b}: the knee lies between",
            m.users
        ),
        None => format!(
            "the SLO still held at {} users when the search stopped: the knee is at least that",
            m.users
        ),
    };
    format!(
        "Measured: {found}; {} the plan's interval ({}–{}).",
        match m.verdict {
            Verdict::Inside => "consistent with",
            Verdict::Above => "above",
            Verdict::Below => "below",
        },
        plan.low,
        plan.high
    )
}

fn footer(r: &VerifyReport) -> String {
    let mut s = String::new();
    if let Some(usd) = r.spend_usd {
        s += &format!("Spend: ${usd:.2} at the catalog's standard price.\n");
    }
    if let Some(why) = &r.stopped {
        s += &format!("Stopped early: {why}.\n");
    }
    s
}

/// The terminal's view: each population's table and conclusion, then the knees.
pub fn terminal(r: &VerifyReport, out: &std::path::Path) -> String {
    let mut text = String::new();
    for s in &r.steps {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED)
            .set_header(HEADER.to_vec());
        for f in &s.figures {
            t.add_row(row(f).to_vec());
        }
        text += &format!("{t}\n{}\n\n", step_conclusion(r, s));
    }
    text += &plan_knee_sentence(&r.plan_knee);
    text += "\n";
    if let Some(m) = &r.measured_knee {
        text += &measured_knee_sentence(m, &r.plan_knee);
        text += "\n";
    }
    text += &footer(r);
    text += &format!(
        "written: {}/requests.csv, verify.md, verify.json, charts/verify_latency.svg and verify_in_flight.svg (and .png)\n",
        out.display()
    );
    text
}

/// verify.md.
pub fn markdown(r: &VerifyReport) -> String {
    let mut md = format!(
        "# Verify: {}\n\nScenario {}, target {}; each population ran {:.0} s of warm-up (left out) then {:.0} s measured; the plan simulated each the same way {} times with different seeds.\n\n{}\n",
        r.option,
        r.scenario,
        r.target,
        r.warmup_s,
        r.duration_s,
        r.simulated_runs,
        plan_knee_sentence(&r.plan_knee)
    );
    if r.in_progress {
        md += &format!(
            "\n**Under way, or cut off:** {} population(s) measured so far. The same command with `--resume` continues the run.\n",
            r.steps.len()
        );
    }
    if let Some(m) = &r.measured_knee {
        md += &format!("\n{}\n", measured_knee_sentence(m, &r.plan_knee));
        md += "\n| users | requests | p95 TTFT (s) | p95 TPOT (s) | errors | SLO | figures inside the plan's intervals |\n| --- | --- | --- | --- | --- | --- | --- |\n";
        for s in &r.steps {
            md += &format!(
                "| {} | {} | {:.3} | {:.3} | {} | {} | {} of {} |\n",
                s.users,
                s.requests,
                s.measured.ttft_p95_s,
                s.measured.tpot_p95_s,
                crate::format::percent(s.measured.error_rate),
                if s.holds_slo { "held" } else { "broke" },
                s.figures
                    .iter()
                    .filter(|f| f.verdict == Verdict::Inside)
                    .count(),
                s.figures.len()
            );
        }
    }
    for s in &r.steps {
        md += &format!(
            "\n## {} users\n\n{}\n\n| {} |\n| --- | --- | --- | --- | --- |\n",
            s.users,
            step_conclusion(r, s),
            HEADER.join(" | ")
        );
        for f in &s.figures {
            md += &format!("| {} |\n", row(f).join(" | "));
        }
    }
    if !r.steps.is_empty() {
        md += "\n![p95 latencies by users](charts/verify_latency.svg)\n\n![requests in flight over the run](charts/verify_in_flight.svg)\n";
    }
    md += "\nEach request asks for exactly its reply (its max_tokens is the reply length drawn from the workload, so a server returns the workload's lengths); the simulations here do the same, so a quota reserves less at admission than the plan's own peak (which reserves each class's max_tokens).\n";
    md += "\nThe interval is the 5th to 95th percentile of each figure over the simulations (the spread a run of this length shows when the plan's model of the server is right), a latency's widened by the profile's 90 % band for a median at the run's operating point (how far its fit leaves it uncertain). A figure outside says the endpoint differs from the profile, or the run was disturbed.\n";
    let f = footer(r);
    if !f.is_empty() {
        md += &format!("\n{f}");
    }
    md
}
