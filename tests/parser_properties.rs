//! Property tests over the parsers at the edge: performance profiles, the price and hosting
//! catalogs, and the command line's counts, durations and rates. Whatever the input, a parser
//! returns an error or a value; it never panics, and nothing it accepts holds NaN or infinity.
//!
//! Inputs are the shipped files with one number replaced (by NaN, ±inf, negatives, huge values,
//! garbage or any f64), which reaches every field, plus arbitrary text. Case counts are modest
//! so the suite stays fast.

use llmcap::commands::units::{parse_count, parse_duration_s, parse_rate_per_s};
use llmcap::cost::catalog::Catalog;
use llmcap::files::parse_profile;
use llmcap::perf::Profile;
use llmcap::plan::hosting::HostingCatalog;
use proptest::prelude::*;

const PROFILE: &str = include_str!("../models/bedrock-llama3-3-70b-instruct.toml");
const BEDROCK: &str = include_str!("../pricing/bedrock.toml");
const SAGEMAKER: &str = include_str!("../pricing/sagemaker.toml");
const MODELS: &str = include_str!("../catalog/models.toml");
const HARDWARE: &str = include_str!("../catalog/hardware.toml");

/// Lines of `text` whose value is a number or an array of numbers.
fn numeric_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            line.split_once(" = ").is_some_and(|(_, value)| {
                let value = value.trim().trim_start_matches('[').trim_end_matches(']');
                value
                    .split(',')
                    .all(|v| !v.trim().is_empty() && v.trim().parse::<f64>().is_ok())
            })
        })
        .map(|(i, _)| i)
        .collect()
}

/// `text` with the number (or an array's first number) on numeric line `pick` replaced.
fn mutate(text: &str, pick: usize, replacement: &str) -> String {
    let lines = numeric_lines(text);
    let target = lines[pick % lines.len()];
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            if i != target {
                return line.to_string();
            }
            let (key, value) = line.split_once(" = ").unwrap_or((line, ""));
            match value.trim().strip_prefix('[') {
                Some(rest) => match rest.split_once(',') {
                    Some((_, tail)) => format!("{key} = [{replacement},{tail}"),
                    None => format!("{key} = [{replacement}]"),
                },
                None => format!("{key} = {replacement}"),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a number in a file may be replaced with.
fn replacement() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("-inf".to_string()),
        Just("-1.0".to_string()),
        Just("0".to_string()),
        Just("-0.0".to_string()),
        Just("1e308".to_string()),
        Just("1e-320".to_string()),
        Just("4294967296".to_string()),
        Just("\"text\"".to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        "[a-z0-9.+-]{0,6}",
    ]
}

/// Every float anywhere in `value` is finite.
fn all_finite(value: &toml::Value) -> bool {
    match value {
        toml::Value::Float(f) => f.is_finite(),
        toml::Value::Array(items) => items.iter().all(all_finite),
        toml::Value::Table(table) => table.values().all(all_finite),
        _ => true,
    }
}

fn finite<T: serde::Serialize>(accepted: &T) -> bool {
    toml::Value::try_from(accepted).is_ok_and(|v| all_finite(&v))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn a_profile_with_any_number_changed_is_refused_or_finite(
        pick in any::<usize>(), value in replacement()
    ) {
        let text = mutate(PROFILE, pick, &value);
        // The model's own parser must not panic, whatever it accepts.
        let _ = Profile::from_toml_str(&text);
        // The edge loader accepts only finite numbers.
        if let Ok(profile) = parse_profile(&text, "p.toml") {
            prop_assert!(finite(&profile), "accepted a non-finite number: {value}");
        }
    }

    #[test]
    fn price_catalogs_with_any_number_changed_are_refused_or_finite(
        pick in any::<usize>(), value in replacement(), which in any::<bool>()
    ) {
        let (bedrock, sagemaker) = if which {
            (mutate(BEDROCK, pick, &value), SAGEMAKER.to_string())
        } else {
            (BEDROCK.to_string(), mutate(SAGEMAKER, pick, &value))
        };
        if let Ok(catalog) = Catalog::parse(&bedrock, "b.toml", &sagemaker, "s.toml") {
            prop_assert!(finite(&catalog.bedrock), "bedrock accepted {value}");
            prop_assert!(finite(&catalog.sagemaker), "sagemaker accepted {value}");
        }
    }

    #[test]
    fn hosting_catalogs_with_any_number_changed_are_refused_or_finite(
        pick in any::<usize>(), value in replacement(), which in any::<bool>()
    ) {
        let (models, hardware) = if which {
            (mutate(MODELS, pick, &value), HARDWARE.to_string())
        } else {
            (MODELS.to_string(), mutate(HARDWARE, pick, &value))
        };
        if let Ok(catalog) = HostingCatalog::parse(&models, "m.toml", &hardware, "h.toml") {
            prop_assert!(catalog.models.iter().all(finite), "models accepted {value}");
            prop_assert!(catalog.hardware.iter().all(finite), "hardware accepted {value}");
        }
    }

    #[test]
    fn arbitrary_text_never_panics_a_file_parser(text in "\\PC{0,300}") {
        let _ = Profile::from_toml_str(&text);
        let _ = parse_profile(&text, "p.toml");
        let _ = Catalog::parse(&text, "b.toml", "", "s.toml");
        let _ = Catalog::parse("", "b.toml", &text, "s.toml");
        let _ = HostingCatalog::parse(&text, "m.toml", "", "h.toml");
        let _ = HostingCatalog::parse("", "m.toml", &text, "h.toml");
    }

    #[test]
    fn command_line_units_are_refused_or_finite(
        number in prop_oneof![
            any::<f64>().prop_map(|f| format!("{f}")),
            any::<f64>().prop_map(|f| format!("{f:e}")),
            any::<u64>().prop_map(|n| n.to_string()),
            "[0-9.eE+_-]{0,12}",
            "\\PC{0,12}",
        ],
        unit in prop_oneof![
            Just(""), Just("s"), Just("ms"), Just("m"), Just("min"), Just("h"), Just("d"),
            Just("/s"), Just("/min"), Just("/h"), Just("/"), Just("x"), Just(" weeks"),
        ],
    ) {
        let text = format!("{number}{unit}");
        if let Ok(seconds) = parse_duration_s(&text) {
            prop_assert!(seconds.is_finite() && seconds >= 0.0, "{text} → {seconds}");
        }
        if let Ok(rate) = parse_rate_per_s(&text) {
            prop_assert!(rate.is_finite() && rate > 0.0, "{text} → {rate}");
        }
        if let Ok(count) = parse_count(&text) {
            // Whole numbers only: the text read as a number is the count.
            let read: f64 = text.trim().replace('_', "").parse().unwrap_or(f64::NAN);
            prop_assert!((read - count as f64).abs() <= read.abs() * 1e-15, "{text} → {count}");
        }
    }
}

#[test]
fn the_mutation_reaches_numbers_and_arrays() {
    // The profile's [range] arrays and plain numbers are both candidates.
    let lines = numeric_lines(PROFILE);
    let texts: Vec<&str> = PROFILE.lines().collect();
    assert!(lines
        .iter()
        .any(|&i| texts[i].starts_with("concurrency = [")));
    assert!(lines.iter().any(|&i| texts[i].starts_with("t0_s = ")));
    assert!(mutate(PROFILE, lines.len() * 7, "nan").contains("= nan"));
    assert!(numeric_lines(BEDROCK).len() > 10 && numeric_lines(HARDWARE).len() > 5);
}
