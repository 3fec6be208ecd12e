//! The daily curve: how a day's requests spread over its hours, for users in one or several
//! time zones. It sets the peak hour (the busiest hour in UTC, every zone's curve shifted by its
//! offset and added by its share) and the hour-by-hour rate of a simulated workday.

use serde::{Deserialize, Serialize};

use super::WorkloadError;

/// An office day (local time): quiet nights, a rise from 07:00, the busiest hours mid-morning
/// and mid-afternoon, a dip at lunch. Percent of the day's requests; an assumption, used when a
/// curve gives no `hourly`.
pub const BUILTIN_HOURLY: [f64; 24] = [
    0.5, 0.4, 0.4, 0.3, 0.4, 0.7, 1.6, 3.6, 6.8, 8.8, 9.2, 8.8, 7.0, 8.2, 9.2, 8.8, 7.6, 5.6, 3.6,
    2.6, 2.0, 1.6, 1.2, 1.1,
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DailyCurve {
    /// Share of a day's requests in each local hour 0–23 (any positive scale: normalised).
    /// Default: the built-in office day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hourly: Option<Vec<f64>>,
    /// Where the users are: each zone's offset from UTC (hours, e.g. -5 or 5.5) and share of the
    /// users. Default: everyone at UTC.
    #[serde(default = "utc_only")]
    pub zone: Vec<Zone>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub utc_offset_h: f64,
    #[serde(default = "one")]
    pub share: f64,
}

fn utc_only() -> Vec<Zone> {
    vec![Zone {
        name: None,
        utc_offset_h: 0.0,
        share: 1.0,
    }]
}
fn one() -> f64 {
    1.0
}

impl DailyCurve {
    /// The local curve, normalised to sum to 1.
    pub fn local(&self) -> [f64; 24] {
        let mut hours = BUILTIN_HOURLY;
        if let Some(given) = &self.hourly {
            hours.iter_mut().zip(given).for_each(|(h, g)| *h = *g);
        }
        let total: f64 = hours.iter().sum();
        hours.map(|h| h / total)
    }

    /// Share of a day's requests in each UTC hour: every zone's local curve shifted by its
    /// offset (a fractional offset splits an hour between its neighbours), weighted by its
    /// share of the users.
    pub fn utc(&self) -> [f64; 24] {
        let local = self.local();
        let total: f64 = self.zone.iter().map(|z| z.share).sum();
        let mut utc = [0.0; 24];
        for zone in &self.zone {
            // UTC hour h is local time h + offset.
            let whole = zone.utc_offset_h.floor();
            let part = zone.utc_offset_h - whole;
            for (h, slot) in utc.iter_mut().enumerate() {
                let start = (h as f64 + whole).rem_euclid(24.0) as usize;
                let next = (start + 1) % 24;
                *slot += zone.share / total * ((1.0 - part) * local[start] + part * local[next]);
            }
        }
        utc
    }

    /// The busiest UTC hour's share of the day, and which hour it is.
    pub fn peak(&self) -> (usize, f64) {
        self.utc()
            .iter()
            .copied()
            .enumerate()
            .fold(
                (0, 0.0),
                |best, (h, s)| if s > best.1 { (h, s) } else { best },
            )
    }

    pub fn validate(&self, field: &str) -> Result<(), WorkloadError> {
        let invalid = |why: String| WorkloadError::Invalid {
            field: field.to_string(),
            why,
        };
        if let Some(hours) = &self.hourly {
            if hours.len() != 24 {
                return Err(invalid(format!(
                    "hourly has {} values: give 24, one per local hour from 00:00",
                    hours.len()
                )));
            }
            if let Some((h, v)) = hours
                .iter()
                .enumerate()
                .find(|(_, v)| !(v.is_finite() && **v >= 0.0 && **v <= 1e12))
            {
                return Err(invalid(format!(
                    "hourly[{h}] = {v}: each hour's share must be a finite number ≥ 0"
                )));
            }
            if hours.iter().sum::<f64>() <= 0.0 {
                return Err(invalid(
                    "hourly is all zero: some hour must have traffic".into(),
                ));
            }
        }
        if self.zone.is_empty() || self.zone.len() > 48 {
            return Err(invalid(format!(
                "{} zones: give 1–48 [[…zone]] entries",
                self.zone.len()
            )));
        }
        for (i, z) in self.zone.iter().enumerate() {
            if !(z.utc_offset_h >= -12.0 && z.utc_offset_h <= 14.0) {
                return Err(invalid(format!(
                    "zone[{i}].utc_offset_h = {}: must be −12 to +14 hours",
                    z.utc_offset_h
                )));
            }
            if !(z.share > 0.0 && z.share <= 1e6) {
                return Err(invalid(format!(
                    "zone[{i}].share = {}: must be a positive share of the users",
                    z.share
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(hourly: Option<Vec<f64>>, zones: &[(f64, f64)]) -> DailyCurve {
        DailyCurve {
            hourly,
            zone: zones
                .iter()
                .map(|&(utc_offset_h, share)| Zone {
                    name: None,
                    utc_offset_h,
                    share,
                })
                .collect(),
        }
    }

    #[test]
    fn zones_shift_and_mix_the_curve() {
        // All traffic in local hour 9: at UTC−5 that is 14:00 UTC, at UTC+1 08:00 UTC.
        let mut nine = vec![0.0; 24];
        nine[9] = 1.0;
        let c = curve(Some(nine.clone()), &[(-5.0, 3.0), (1.0, 1.0)]);
        let utc = c.utc();
        assert!((utc[14] - 0.75).abs() < 1e-12 && (utc[8] - 0.25).abs() < 1e-12);
        assert!((utc.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert_eq!(c.peak().0, 14);
        // India (+5.5): local 09:00–10:00 is 03:30–04:30 UTC, half in each hour.
        let india = curve(Some(nine), &[(5.5, 1.0)]);
        let utc = india.utc();
        assert!(
            (utc[3] - 0.5).abs() < 1e-12 && (utc[4] - 0.5).abs() < 1e-12,
            "{utc:?}"
        );
    }

    #[test]
    fn spreading_users_over_zones_lowers_the_peak() {
        let one = curve(None, &[(0.0, 1.0)]).peak().1;
        let spread = curve(None, &[(-8.0, 1.0), (0.0, 1.0), (8.0, 1.0)]).peak().1;
        assert!((one - 0.092).abs() < 1e-12, "{one}");
        assert!(spread < 0.6 * one, "{spread} against {one}");
    }

    #[test]
    fn bad_curves_are_named() {
        let e = curve(Some(vec![1.0; 23]), &[(0.0, 1.0)]).validate("workload.daily");
        assert!(e.unwrap_err().to_string().contains("24"));
        let e = curve(None, &[(15.0, 1.0)]).validate("workload.daily");
        assert!(e.unwrap_err().to_string().contains("utc_offset_h"));
    }
}
