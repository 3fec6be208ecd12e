//! A plan as text: the summary table, one sentence per break-even pair, plan.md and the
//! terminal summary. Everything is read from the typed `Plan`; the same functions feed the
//! terminal, plan.md and report.html so that they cannot disagree.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use crate::format::{percent, thousands, usd};
use crate::plan::quota::QuotaEvidence;
use crate::plan::staircase::{Cheaper, Crossing};
use crate::plan::{BreakEven, OptionKind, OptionPlan, Plan};

/// The quota column: each quota's current value, and the ask where it is short.
pub fn quota_cell(o: &OptionPlan) -> String {
    match (&o.quota, o.kind) {
        (Some(q), _) => quota_summary(q),
        (None, OptionKind::Sagemaker) => {
            match (&o.scaling, o.instances) {
                (Some(s), _) => format!(
                "autoscaled {}–{} instances ({}{} at the peak, {:.1} on average), no token quota",
                s.min_instances,
                s.max_instances,
                if s.to_zero() { "to zero when idle; " } else { "" },
                s.peak_instances,
                o.instance_hours_per_month.unwrap_or(0.0) / crate::cost::fleet::HOURS_IN_MONTH
            ),
                (None, Some(n)) => format!("{n} instance(s), no token quota"),
                (None, None) => "no token quota".into(),
            }
        }
        (None, _) => "no token quota (per request)".into(),
    }
}

fn quota_summary(q: &QuotaEvidence) -> String {
    q.checks()
        .map(|c| match c.requested {
            Some(ask) => format!(
                "{} {} → ask {}",
                c.quota.short_label(),
                thousands(c.current),
                thousands(ask)
            ),
            None => format!("{} {} enough", c.quota.short_label(), thousands(c.current)),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether the option's knee lies inside what its profile measured, and whether the profile
/// is borrowed from other hardware or another model.
pub fn profile_cell(o: &OptionPlan) -> String {
    let reach = o
        .operating_point
        .as_ref()
        .map_or_else(|| "—".to_string(), |p| p.cell());
    match &o.borrowed {
        Some(_) => format!("BORROWED; {reach}"),
        None => reach,
    }
}

/// What plan.md and the quota documents say about the profile: borrowed, and where the knee
/// lies against what it measured.
pub fn profile_lines(o: &OptionPlan) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(b) = &o.borrowed {
        lines.push(b.reading());
    }
    if let Some(p) = &o.operating_point {
        lines.push(format!("operating point {}", p.reading()));
    }
    lines
}

pub fn users_cell(o: &OptionPlan) -> String {
    format!(
        "{}{} → {}{}",
        if o.knee_at_search_limit { "≥ " } else { "" },
        thousands(f64::from(o.knee_users)),
        thousands(f64::from(o.planned_users)),
        if o.capacity_note.is_some() { " *" } else { "" }
    )
}

/// The summary's header and one row per option (the terminal, plan.md and report.html).
pub fn summary_rows(plan: &Plan) -> (Vec<String>, Vec<Vec<String>>) {
    let header = vec![
        "option".to_string(),
        "model".to_string(),
        "users (knee → plan 60 %)".to_string(),
        "knee at current quota".to_string(),
        format!("SLO at the peak ({} users)", plan.peak_users),
        "quota (current → ask)".to_string(),
        "list $/mo".to_string(),
        "P50 $/mo".to_string(),
        "P90 $/mo".to_string(),
        "× list".to_string(),
        "profile at the knee".to_string(),
    ];
    let rows = plan
        .options
        .iter()
        .map(|o| {
            vec![
                o.name.clone(),
                o.model.clone(),
                users_cell(o),
                o.knee_users_at_current_quota.map_or("—".into(), |k| {
                    let at_least = if o.knee_at_current_quota_at_search_limit {
                        "≥ "
                    } else {
                        ""
                    };
                    format!("{at_least}{}", thousands(f64::from(k)))
                }),
                if o.peak_meets_slo { "met" } else { "missed" }.to_string(),
                quota_cell(o),
                thousands(o.budget.list_monthly_usd),
                thousands(o.budget.p50_monthly_usd),
                thousands(o.budget.p90_monthly_usd),
                format!(
                    "{:.2}–{:.2}",
                    o.budget.multiplier_p50, o.budget.multiplier_p90
                ),
                profile_cell(o),
            ]
        })
        .collect();
    (header, rows)
}

pub fn summary_table(plan: &Plan) -> Table {
    let (header, rows) = summary_rows(plan);
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header(header);
    for row in rows {
        t.add_row(row);
    }
    t
}

fn markdown_table(header: &[String], rows: &[Vec<String>]) -> String {
    let line = |cells: &[String]| format!("| {} |\n", cells.join(" | "));
    let mut md = line(header);
    md += &line(&vec!["---".to_string(); header.len()]);
    for row in rows {
        md += &line(row);
    }
    md
}

/// The budget as a waterfall: list price, each step inside the simulated month to the month
/// as simulated, each overhead priced per unit, the demand's uncertainty, then P50 and P90;
/// every step with its source.
pub fn budget_waterfall_markdown(o: &OptionPlan) -> String {
    use crate::cost::budget::Step;
    let b = &o.budget;
    let mut md = String::from(
        "\n| budget step | $/month | running total | source |\n| --- | --- | --- | --- |\n",
    );
    let mut total = b.list_monthly_usd;
    let start = match o.kind {
        OptionKind::Bedrock => "list price (the bare message and reply at on-demand prices)",
        OptionKind::Sagemaker => {
            "instance-hours at on-demand prices (the fleet the simulated peak needs)"
        }
        OptionKind::Serverless => "compute seconds as simulated, at on-demand prices",
    };
    md += &format!(
        "| {start} | {} | {} | {} |\n",
        thousands(total),
        thousands(total),
        o.price_source
    );
    let mut subtotal_written = o.kind == OptionKind::Sagemaker;
    for s in &b.shares {
        if s.step != Step::Simulated && !subtotal_written {
            md += &format!(
                "| **= the month as simulated** (what the simulation sent, at on-demand prices) | | **{}** | the Standard tier above |\n",
                thousands(total)
            );
            subtotal_written = true;
        }
        total += s.usd;
        let signed = if s.usd < 0.0 {
            format!("−{}", thousands(-s.usd))
        } else {
            format!("+{}", thousands(s.usd))
        };
        let what = if s.step == Step::Demand {
            format!("{} (mean)", s.factor)
        } else {
            s.factor.clone()
        };
        md += &format!(
            "| {what} | {signed} | {} | {} |\n",
            thousands(total),
            s.source
        );
    }
    md += &format!(
        "| **mean** | | **{}** | |\n| **P50** | | **{}** | {} draws over the ranges above |\n| **P90** | | **{}** | |\n",
        thousands(b.mean_monthly_usd),
        thousands(b.p50_monthly_usd),
        thousands(crate::plan::builder::BUDGET_SAMPLES as f64),
        thousands(b.p90_monthly_usd),
    );
    md
}

/// One paragraph per pair: how the fleet is bought, every volume where the order changes
/// (or that it never does in the range searched), and which is cheaper at this volume.
pub fn break_even_sentence(b: &BreakEven, monthly_requests: f64) -> String {
    let at_plan = format!(
        "at this scenario's {} requests a month, {} is cheaper by {} a month ({} less)",
        thousands(monthly_requests),
        b.cheaper_at_plan,
        usd(b.saving_at_plan_usd),
        percent(b.saving_fraction)
    );
    let reserved = b.reserved_month_usd.map_or(String::new(), |r| {
        format!(
            " Reserving the peak's tokens per minute on Bedrock instead would cost {} a month against {} for {} ({}).",
            usd(r),
            usd(b.dedicated_month_usd),
            b.dedicated,
            if r < b.dedicated_month_usd {
                "the reservation is cheaper"
            } else {
                "the fleet is cheaper"
            }
        )
    });
    let fleet = match &b.fleet_steps {
        Some(s) => format!(
            ", bought by whole instances (one holds {} peak-hour users, about {} requests a month, for {} a month: {} a request when full, against {})",
            thousands(f64::from(s.users_per_instance)),
            thousands(s.requests_per_instance_month),
            usd(s.usd_per_instance_month),
            usd_per_request(b.fleet_usd_per_request_full),
            usd_per_request(b.per_request_usd),
        ),
        None => format!(
            ", autoscaled (the hours above its minimum fleet follow traffic: {} a request, against {})",
            usd_per_request(b.fleet_usd_per_request_full),
            usd_per_request(b.per_request_usd),
        ),
    };
    let name = |c: Cheaper| match c {
        Cheaper::PerRequest => b.per_request.as_str(),
        Cheaper::Fleet => b.dedicated.as_str(),
    };
    let at = |c: &Crossing| {
        format!(
            "{} requests a month ({}× this volume{})",
            thousands(c.requests_per_month),
            times(c.requests_per_month / monthly_requests.max(1.0)),
            if c.instances > 0 {
                format!(", {} instance(s)", c.instances)
            } else {
                String::new()
            }
        )
    };
    let range = format!(
        "between {} and {} requests a month ({}× to {}× this volume)",
        thousands(b.range[0]),
        thousands(b.range[1]),
        times(b.range[0] / monthly_requests.max(1.0)),
        times(b.range[1] / monthly_requests.max(1.0)),
    );
    let crossings = match (b.crossings_total, b.crossings.first(), &b.last_crossing) {
        (0, _, _) | (_, None, _) | (_, _, None) => format!(
            "the monthly costs never cross {range}: {} is cheaper throughout",
            b.cheaper_at_plan
        ),
        (1, Some(c), _) => format!(
            "the monthly costs cross once {range}, at {}; above it {} is cheaper",
            at(c),
            name(c.cheaper_above)
        ),
        (n, Some(first), Some(last)) => format!(
            "the monthly costs cross {n} times {range}: first at {}, where {} becomes cheaper; each added instance tips the order back until the last crossing, at {}, above which {} stays cheaper",
            at(first),
            name(first.cheaper_above),
            at(last),
            name(last.cheaper_above)
        ),
    };
    format!(
        "{}: {} against {}{fleet}: {crossings}; {at_plan}.{reserved}",
        b.model, b.per_request, b.dedicated
    )
}

/// A multiple of the scenario's volume: three significant figures.
fn times(x: f64) -> String {
    if x >= 100.0 {
        thousands(x)
    } else if x >= 1.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

/// A per-request price to a tenth of a cent's hundredth.
fn usd_per_request(x: f64) -> String {
    format!("${x:.5}")
}

/// Options that serve a model no other option serves: a model choice, not a price comparison.
pub fn unpaired_models(plan: &Plan) -> Vec<String> {
    let mut models: Vec<String> = Vec::new();
    for o in &plan.options {
        let paired = plan.break_even.iter().any(|b| b.model == o.model);
        if !paired && !models.contains(&o.model) {
            models.push(o.model.clone());
        }
    }
    models
}

pub fn capacity_notes(plan: &Plan) -> Vec<String> {
    plan.options
        .iter()
        .filter_map(|o| {
            o.capacity_note
                .as_ref()
                .map(|n| format!("* {}: {n}.", o.name))
        })
        .collect()
}

/// The file name of an option's quota document (distinct for every option of a scenario).
pub fn quota_file(option: &str) -> String {
    format!("quota-{}.md", crate::plan::scenario::file_slug(option))
}

pub fn plan_markdown(plan: &Plan) -> String {
    let mut md = format!(
        "# {}\n\nGenerated by llmcap on {}.\n\n{}\n\n",
        plan.scenario, plan.generated_on, plan.use_case
    );
    md += &format!(
        "Peak: {} users; {} requests a month. SLO: p95 TTFT ≤ {} s, p95 TPOT ≤ {} s, errors ≤ {}.\n\n",
        plan.peak_users,
        thousands(plan.monthly_requests),
        plan.slo.ttft_p95_s,
        plan.slo.tpot_p95_s,
        percent(plan.slo.max_error_rate)
    );
    md += "## For architects: capacity\n\n";
    let (header, rows) = summary_rows(plan);
    md += &markdown_table(&header, &rows);
    md += "\n";
    for note in capacity_notes(plan) {
        md += &format!("{note}\n\n");
    }
    for o in &plan.options {
        md += &format!("- {}: {}", o.name, o.service);
        if let Some(h) = &o.hosting {
            md += &format!("; {}", h.reading);
        }
        md += "\n";
        for line in profile_lines(o) {
            md += &format!("  - {line}\n");
        }
    }
    md += "\n## For finance: cost and budget\n\n";
    for o in &plan.options {
        md += &format!(
            "### {}\n\n- list price: {}/month; realistic P50 {}, P90 {} ({:.2}×–{:.2}× list)\n- on-demand as simulated: {}/month\n- prices: {}\n- profile: {}\n- performance model: {}\n",
            o.name,
            usd(o.budget.list_monthly_usd),
            usd(o.budget.p50_monthly_usd),
            usd(o.budget.p90_monthly_usd),
            o.budget.multiplier_p50,
            o.budget.multiplier_p90,
            usd(o.monthly_on_demand_usd),
            o.price_source,
            o.profile_source,
            o.performance_model
        );
        if let Some(basis) = &o.fleet_basis {
            md += &format!("- billed: {basis}\n");
        }
        if let Some(s) = &o.savings_plan {
            md += &format!("- {}\n", crate::plan::savings_plan::sentence(s));
        }
        md += &format!("- budget: {}\n", o.budget_reading);
        if let Some(capacity) = &o.capacity_interval {
            md += &format!("- {capacity}\n");
        }
        if let Some(note) = &o.prompt_cache_note {
            md += &format!("- {note}\n");
        }
        md += &tiers_markdown(o);
        md += &budget_waterfall_markdown(o);
        md += "\n";
    }
    md += "### Break-even (same model on both sides)\n\n";
    for b in &plan.break_even {
        md += &format!("- {}\n", break_even_sentence(b, plan.monthly_requests));
    }
    for model in unpaired_models(plan) {
        md += &format!(
            "- {model}: no other option serves it, so it is a model choice, not a price comparison.\n"
        );
    }
    md += "\n## For engineers: quota\n\n";
    for o in &plan.options {
        if let Some(q) = &o.quota {
            let file = quota_file(&o.name);
            let main = q.main_check();
            md += &format!(
                "- {} ({}): {} at the peak against {} ({}); see [{file}]({file})\n",
                o.name,
                q.endpoint.host(),
                crate::report::quota_request::p99_phrase(main),
                thousands(main.current),
                quota_summary(q),
            );
        }
    }
    md += "\n## Assumptions\n\n";
    for a in &plan.assumptions {
        md += &format!("- {a}\n");
    }
    md
}

/// A Bedrock option's month under each tier it is sold in, and whether reserving pays.
pub fn tiers_markdown(o: &OptionPlan) -> String {
    if o.tiers.is_empty() {
        return String::new();
    }
    let mut md = String::from(
        "\n| tier | $/month | for this workload | note |\n| --- | --- | --- | --- |\n",
    );
    for t in &o.tiers {
        md += &format!(
            "| {} | {} | {} | {} |\n",
            t.tier.label(),
            thousands(t.monthly_usd),
            if t.fits_workload { "yes" } else { "no" },
            t.note
        );
    }
    match &o.reserve {
        Some(r) => md += &format!("\n{}\n", reserve_sentence(r, o.monthly_requests)),
        None => {
            md += "\nReserved: not offered for this model in the catalog (no reserved_*_per_ktpm_month in pricing/bedrock.toml for its ID and Region; AWS sells the Reserved tier for some models only, through the account team).\n"
        }
    }
    md
}

/// Reserve or not, in one paragraph: what reserving the peak costs, how much of the reserved
/// capacity the month uses, and the price and the volume at which it would pay.
pub fn reserve_sentence(r: &crate::plan::tiers::ReserveDecision, monthly_requests: f64) -> String {
    format!(
        "Reserve or not: reserving the peak ({} input and {} output tokens a minute, 1-month term) costs {} a month against {} for the same tokens on Standard, so it {}. The month uses {} of the reserved input capacity and {} of the output (tokens ÷ reserved TPM × 43,800 minutes); at these prices reserving pays above a load factor of {} (input) and {} (output), i.e. above {} requests a month at this peak ({:.1}× this scenario's volume). It would pay here if AWS quoted less than ${:.2} per 1K input TPM-month and ${:.2} per 1K output TPM-month. Reserved prices: {}.",
        thousands(r.input_tpm),
        thousands(r.output_tpm),
        usd(r.monthly_usd),
        usd(r.standard_usd_same_tokens),
        if r.pays { "pays" } else { "does not pay" },
        percent(r.load_factor_input),
        percent(r.load_factor_output),
        percent(r.break_even_load_factor_input),
        percent(r.break_even_load_factor_output),
        thousands(r.break_even_requests_per_month),
        r.break_even_requests_per_month / monthly_requests.max(1.0),
        r.break_even_price_input,
        r.break_even_price_output,
        r.price_source.trim_end_matches('.')
    )
}

/// The terminal summary after `llmcap plan`.
pub fn terminal_summary(plan: &Plan, out: &std::path::Path) -> String {
    let mut text = format!(
        "{} — peak {} users, {} requests/month; SLO p95 TTFT ≤ {} s, p95 TPOT ≤ {} s, errors ≤ {}\n",
        plan.scenario,
        plan.peak_users,
        thousands(plan.monthly_requests),
        plan.slo.ttft_p95_s,
        plan.slo.tpot_p95_s,
        percent(plan.slo.max_error_rate)
    );
    text += &format!("{}\n", summary_table(plan));
    for note in capacity_notes(plan) {
        text += &format!("{note}\n");
    }
    for b in &plan.break_even {
        text += &format!(
            "break-even: {}\n",
            break_even_sentence(b, plan.monthly_requests)
        );
    }
    for model in unpaired_models(plan) {
        text += &format!(
            "{model}: served by one option only — a model choice, not compared on price\n"
        );
    }
    text += &format!(
        "report: {}/report.html (charts, for architects, finance and engineers), report.md, plan.md, plan.json, quota-*.md, data/ — finished in {:.1} s\n",
        out.display(),
        plan.elapsed_s
    );
    text
}
