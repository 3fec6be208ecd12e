//! What a deployment pays besides the model, priced by what drives it: data transfer by the GB
//! its replies carry out of AWS, CloudWatch by the GB its logs hold and by the alarms and
//! dashboards kept (`pricing/overheads.toml`, sourced and dated). The same for every option
//! serving the same traffic: the model's host does not change what leaves AWS or is logged.

use serde::{Deserialize, Serialize};

use super::error::CatalogError;

/// The rates and byte sizes (pricing/overheads.toml).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverheadRates {
    pub data_transfer: TransferRates,
    pub cloudwatch: CloudWatchRates,
    pub bytes: ByteSizes,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRates {
    pub internet_usd_per_gb: f64,
    pub in_region_usd_per_gb: f64,
    pub source: String,
    pub date: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudWatchRates {
    pub logs_ingest_usd_per_gb: f64,
    pub logs_storage_usd_per_gb_month: f64,
    pub alarm_usd_month: f64,
    pub dashboard_usd_month: f64,
    pub source: String,
    pub date: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByteSizes {
    pub per_token: f64,
    pub envelope_per_request: f64,
    pub stream_frame_per_output_token: f64,
    pub log_metadata_per_request: f64,
    pub source: String,
    pub date: String,
}

pub const BUILTIN: &str = include_str!("../../pricing/overheads.toml");

impl OverheadRates {
    pub fn builtin() -> OverheadRates {
        OverheadRates::parse(BUILTIN, "pricing/overheads.toml")
            .expect("the built-in pricing/overheads.toml parses (a unit test checks it)")
    }

    pub fn parse(text: &str, origin: &str) -> Result<OverheadRates, CatalogError> {
        let rates: OverheadRates = toml::from_str(text).map_err(|cause| CatalogError::Toml {
            origin: origin.to_string(),
            cause,
        })?;
        let t = &rates.data_transfer;
        let c = &rates.cloudwatch;
        let b = &rates.bytes;
        for (field, value, max) in [
            (
                "data_transfer.internet_usd_per_gb",
                t.internet_usd_per_gb,
                10.0,
            ),
            (
                "data_transfer.in_region_usd_per_gb",
                t.in_region_usd_per_gb,
                10.0,
            ),
            (
                "cloudwatch.logs_ingest_usd_per_gb",
                c.logs_ingest_usd_per_gb,
                100.0,
            ),
            (
                "cloudwatch.logs_storage_usd_per_gb_month",
                c.logs_storage_usd_per_gb_month,
                100.0,
            ),
            ("cloudwatch.alarm_usd_month", c.alarm_usd_month, 100.0),
            (
                "cloudwatch.dashboard_usd_month",
                c.dashboard_usd_month,
                1_000.0,
            ),
            ("bytes.per_token", b.per_token, 100.0),
            ("bytes.envelope_per_request", b.envelope_per_request, 1e6),
            (
                "bytes.stream_frame_per_output_token",
                b.stream_frame_per_output_token,
                1e4,
            ),
            (
                "bytes.log_metadata_per_request",
                b.log_metadata_per_request,
                1e6,
            ),
        ] {
            if !(value.is_finite() && (0.0..=max).contains(&value)) {
                return Err(CatalogError::Overheads {
                    origin: origin.to_string(),
                    message: format!("`{field}` = {value}: must be 0–{max}"),
                });
            }
        }
        for (section, source, date) in [
            ("data_transfer", &t.source, &t.date),
            ("cloudwatch", &c.source, &c.date),
            ("bytes", &b.source, &b.date),
        ] {
            if source.trim().is_empty() || date.trim().is_empty() {
                return Err(CatalogError::Overheads {
                    origin: origin.to_string(),
                    message: format!("[{section}] needs a source and a date"),
                });
            }
        }
        Ok(rates)
    }
}

/// Where the replies go, and what is logged and watched (the scenario's `[overheads]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverheadSettings {
    /// `internet`: replies leave AWS for users' browsers or offices (egress is billed);
    /// `in_region`: the caller runs in the same Region (no transfer charge).
    #[serde(default)]
    pub clients: Clients,
    /// Whether every prompt and reply is logged to CloudWatch Logs (Bedrock's model
    /// invocation logging, or a SageMaker container's request logging).
    #[serde(default = "yes")]
    pub invocation_logging: bool,
    /// Months the logs are kept (storage is billed on what is held: `retention` months' worth).
    #[serde(default = "three")]
    pub log_retention_months: f64,
    #[serde(default = "five")]
    pub alarms: u32,
    #[serde(default = "one")]
    pub dashboards: u32,
}

impl Default for OverheadSettings {
    fn default() -> Self {
        OverheadSettings {
            clients: Clients::default(),
            invocation_logging: true,
            log_retention_months: 3.0,
            alarms: 5,
            dashboards: 1,
        }
    }
}

fn yes() -> bool {
    true
}
fn three() -> f64 {
    3.0
}
fn five() -> u32 {
    5
}
fn one() -> u32 {
    1
}

impl OverheadSettings {
    /// Ranges; errors name the field.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if !(self.log_retention_months >= 0.0 && self.log_retention_months <= 120.0) {
            return Err((
                "overheads.log_retention_months",
                "must be 0–120 months".into(),
            ));
        }
        if self.alarms > 10_000 {
            return Err(("overheads.alarms", "must be at most 10,000".into()));
        }
        if self.dashboards > 1_000 {
            return Err(("overheads.dashboards", "must be at most 1,000".into()));
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clients {
    #[default]
    Internet,
    InRegion,
}

/// A month of requests as sent: their count and mean tokens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Traffic {
    pub requests: f64,
    pub mean_input_tokens: f64,
    pub mean_output_tokens: f64,
}

/// One month's overheads, each with the quantity that drives it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Overheads {
    pub egress_gb: f64,
    pub transfer_usd: f64,
    pub transfer_reading: String,
    pub logged_gb: f64,
    pub monitoring_usd: f64,
    pub monitoring_reading: String,
}

const GB: f64 = 1e9;

/// A month's data transfer and monitoring for `traffic`.
pub fn overheads(
    rates: &OverheadRates,
    settings: &OverheadSettings,
    traffic: &Traffic,
) -> Overheads {
    let b = &rates.bytes;
    let t = &rates.data_transfer;
    let c = &rates.cloudwatch;
    // What leaves AWS: each streamed reply, its frames and its envelope.
    let reply_bytes = traffic.mean_output_tokens * (b.per_token + b.stream_frame_per_output_token)
        + b.envelope_per_request;
    let egress_gb = traffic.requests * reply_bytes / GB;
    let (rate, to) = match settings.clients {
        Clients::Internet => (t.internet_usd_per_gb, "to the internet"),
        Clients::InRegion => (t.in_region_usd_per_gb, "to a client in the same Region"),
    };
    let transfer_usd = egress_gb * rate;
    let transfer_reading = format!(
        "{egress_gb:.2} GB of replies a month {to} ({:.0} output tokens × ({} text + {} stream-frame bytes) + a {}-byte envelope, × {} requests) at ${rate}/GB; prompts into AWS are free. {} ({}); sizes: {} ({})",
        traffic.mean_output_tokens,
        b.per_token,
        b.stream_frame_per_output_token,
        crate::format::thousands(b.envelope_per_request),
        crate::format::thousands(traffic.requests),
        t.source,
        t.date,
        b.source,
        b.date,
    );
    // What is logged: every prompt and reply as text, with the record's metadata.
    let logged_gb = if settings.invocation_logging {
        traffic.requests
            * ((traffic.mean_input_tokens + traffic.mean_output_tokens) * b.per_token
                + b.log_metadata_per_request)
            / GB
    } else {
        0.0
    };
    let ingest = logged_gb * c.logs_ingest_usd_per_gb;
    let storage = logged_gb * settings.log_retention_months * c.logs_storage_usd_per_gb_month;
    let alarms = f64::from(settings.alarms) * c.alarm_usd_month;
    let dashboards = f64::from(settings.dashboards) * c.dashboard_usd_month;
    let logging = if settings.invocation_logging {
        format!(
            "{logged_gb:.2} GB of prompts and replies logged a month (({} + {} tokens) × {} bytes + {} bytes of metadata a record): ${ingest:.2} to ingest at ${}/GB and ${storage:.2} to hold {} months' worth at ${}/GB-month",
            crate::format::thousands(traffic.mean_input_tokens),
            crate::format::thousands(traffic.mean_output_tokens),
            b.per_token,
            crate::format::thousands(b.log_metadata_per_request),
            c.logs_ingest_usd_per_gb,
            settings.log_retention_months,
            c.logs_storage_usd_per_gb_month,
        )
    } else {
        "invocation logging off: no prompt or reply logged".to_string()
    };
    let monitoring_reading = format!(
        "{logging}; {} alarm(s) at ${}/month and {} dashboard(s) at ${}/month; the service's own metrics are free. {} ({})",
        settings.alarms,
        c.alarm_usd_month,
        settings.dashboards,
        c.dashboard_usd_month,
        c.source,
        c.date,
    );
    Overheads {
        egress_gb,
        transfer_usd,
        transfer_reading,
        logged_gb,
        monitoring_usd: ingest + storage + alarms + dashboards,
        monitoring_reading,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_rates_parse_and_a_chat_month_costs_dollars_by_hand() {
        let rates = OverheadRates::builtin();
        // 500,000 requests of 2,000 prompt and 150 reply tokens.
        let traffic = Traffic {
            requests: 500_000.0,
            mean_input_tokens: 2_000.0,
            mean_output_tokens: 150.0,
        };
        let o = overheads(&rates, &OverheadSettings::default(), &traffic);
        // Replies: 150 × (4 + 100) + 1,000 = 16,600 bytes → 8.3 GB at $0.09.
        assert!((o.egress_gb - 8.3).abs() < 1e-9, "{}", o.egress_gb);
        assert!((o.transfer_usd - 0.747).abs() < 1e-9);
        // Logs: (2,150 × 4 + 1,000) bytes = 9,600 → 4.8 GB: $2.40 in, 3 × 4.8 × $0.03 held,
        // 5 alarms × $0.10 and a $3 dashboard.
        assert!((o.logged_gb - 4.8).abs() < 1e-9);
        let by_hand = 2.40 + 0.432 + 0.5 + 3.0;
        assert!(
            (o.monitoring_usd - by_hand).abs() < 1e-9,
            "{}",
            o.monitoring_usd
        );
        // In the Region, nothing for transfer; no logging, only alarms and the dashboard.
        let quiet = OverheadSettings {
            clients: Clients::InRegion,
            invocation_logging: false,
            ..OverheadSettings::default()
        };
        let o = overheads(&rates, &quiet, &traffic);
        assert_eq!(o.transfer_usd, 0.0);
        assert!((o.monitoring_usd - 3.5).abs() < 1e-9);
    }

    #[test]
    fn a_bad_rate_names_its_field() {
        let bad = BUILTIN.replace("internet_usd_per_gb = 0.09", "internet_usd_per_gb = -1");
        let e = OverheadRates::parse(&bad, "o.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("o.toml") && e.contains("data_transfer.internet_usd_per_gb"),
            "{e}"
        );
    }
}
