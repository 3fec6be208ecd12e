//! Charts of a plan: latency against users with the SLO and the knee, TPM per minute against
//! the quota, monthly cost against volume with the break-even points, and the budget
//! waterfall from list price to the realistic P50/P90.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{colour, drawing, frame, legend, padded, Chart, ChartError, FONT};
use crate::format::{count_axis, usd_axis};

/// One option's simulated p95 TTFT by users, and its knee.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencySeries {
    pub name: String,
    /// (users, p95 TTFT seconds)
    pub points: Vec<(f64, f64)>,
    pub knee_users: f64,
    /// The SLO still held at the most users simulated: the knee is at least `knee_users`.
    pub knee_at_limit: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LatencyAgainstUsers {
    pub title: String,
    pub slo_ttft_p95_s: f64,
    /// The scenario's peak-hour users (marked).
    pub peak_users: f64,
    pub series: Vec<LatencySeries>,
}

impl Chart for LatencyAgainstUsers {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let x_max = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .fold(self.peak_users * 1.1, f64::max);
        // Beyond a few times the SLO the curve says only "fails"; clip there.
        let y_cap = self.slo_ttft_p95_s * 4.0;
        let y_max = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1.min(y_cap)))
            .fold(self.slo_ttft_p95_s, f64::max);
        let mut chart = frame(root, &self.title, 44, 70)?
            .build_cartesian_2d(0.0..x_max * 1.05, padded(0.0, y_max))
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .x_desc("peak-hour users (simulated)")
            .x_label_formatter(&|v| count_axis(*v))
            .y_desc("p95 TTFT (s)")
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(drawing)?;
        let slo = self.slo_ttft_p95_s;
        chart
            .draw_series(LineSeries::new(
                [(0.0, slo), (x_max * 1.05, slo)],
                RED.stroke_width(2),
            ))
            .map_err(drawing)?
            .label(format!("SLO: p95 TTFT ≤ {slo} s"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
        let peak = self.peak_users;
        chart
            .draw_series(DashedLineSeries::new(
                [(peak, 0.0), (peak, y_max)],
                6,
                4,
                BLACK.mix(0.5).stroke_width(1),
            ))
            .map_err(drawing)?
            .label(format!("this scenario's peak: {} users", count_axis(peak)))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.5)));
        for (i, series) in self.series.iter().enumerate() {
            let c = colour(i);
            let points: Vec<(f64, f64)> = series
                .points
                .iter()
                .map(|&(u, t)| (u, t.min(y_cap)))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), c.stroke_width(2)))
                .map_err(drawing)?
                .label(format!(
                    "{} (knee {}{} users)",
                    series.name,
                    if series.knee_at_limit { "≥ " } else { "" },
                    count_axis(series.knee_users)
                ))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, c.filled())))
                .map_err(drawing)?;
            chart
                .draw_series(LineSeries::new(
                    [(series.knee_users, 0.0), (series.knee_users, y_max)],
                    c.mix(0.6).stroke_width(1),
                ))
                .map_err(drawing)?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft, 13.0)?;
        Ok(())
    }
}

/// One option's TPM per simulated minute and its quota.
#[derive(Clone, Debug, PartialEq)]
pub struct TpmSeries {
    pub name: String,
    /// (minute, TPM reserved at request start)
    pub minutes: Vec<(f64, f64)>,
    pub quota_tpm: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TpmAgainstQuota {
    pub title: String,
    pub series: Vec<TpmSeries>,
}

impl Chart for TpmAgainstQuota {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let x_max = self
            .series
            .iter()
            .flat_map(|s| s.minutes.iter().map(|m| m.0))
            .fold(1.0, f64::max);
        let y_max = self
            .series
            .iter()
            .flat_map(|s| s.minutes.iter().map(|m| m.1).chain([s.quota_tpm]))
            .fold(1.0, f64::max);
        let mut chart = frame(root, &self.title, 44, 80)?
            .build_cartesian_2d(0.0..x_max + 1.0, 0.0..y_max * 1.1)
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .x_desc("minute of the simulated peak (after the warm-up)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_desc("tokens per minute (reserved)")
            .y_label_formatter(&|v| count_axis(*v))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(drawing)?;
        for (i, series) in self.series.iter().enumerate() {
            let c = colour(i);
            chart
                .draw_series(LineSeries::new(
                    series.minutes.iter().copied(),
                    c.stroke_width(2),
                ))
                .map_err(drawing)?
                .label(series.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
            let quota = series.quota_tpm;
            chart
                .draw_series(DashedLineSeries::new(
                    [(0.0, quota), (x_max + 1.0, quota)],
                    8,
                    5,
                    c.stroke_width(2),
                ))
                .map_err(drawing)?
                .label(format!("{} quota {} TPM", series.name, count_axis(quota)))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 8, y)], c.stroke_width(2))
                });
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight, 13.0)?;
        Ok(())
    }
}

/// One option's monthly cost against volume, as it is bought.
#[derive(Clone, Debug, PartialEq)]
pub struct CostCurveSeries {
    pub name: String,
    pub curve: crate::plan::staircase::CostCurve,
}

/// Cost against volume on log–log axes: volume spans decades between this scenario and the
/// break-even points, and a per-request line is then a straight slope while a fleet is flat.
#[derive(Clone, Debug, PartialEq)]
pub struct CostAgainstVolume {
    pub title: String,
    pub lines: Vec<CostCurveSeries>,
    pub volume_min: f64,
    pub volume_max: f64,
    /// (requests per month, monthly USD, label)
    pub crossovers: Vec<(f64, f64, String)>,
    /// The scenario's own monthly volume.
    pub planned_volume: f64,
}

impl Chart for CostAgainstVolume {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let x_min = self.volume_min.max(1.0);
        let x_max = self.volume_max.max(x_min * 10.0);
        let costs = || {
            self.lines
                .iter()
                .flat_map(|l| [l.curve.at(x_min), l.curve.at(x_max)])
        };
        let y_min = costs().filter(|c| *c > 0.0).fold(f64::INFINITY, f64::min);
        let y_min = if y_min.is_finite() { y_min * 0.5 } else { 1.0 };
        let y_max = costs().fold(y_min * 10.0, f64::max) * 2.0;
        let mut chart = frame(root, &self.title, 44, 90)?
            .build_cartesian_2d((x_min..x_max).log_scale(), (y_min..y_max).log_scale())
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .x_desc("requests per month (log scale)")
            .y_desc("monthly cost (log scale)")
            .x_label_formatter(&|v| count_axis(*v))
            .y_label_formatter(&|v| usd_axis(*v))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(drawing)?;
        for (i, line) in self.lines.iter().enumerate() {
            let c = colour(i);
            let points: Vec<(f64, f64)> = line
                .curve
                .polyline(x_min, x_max, 400)
                .into_iter()
                .map(|(v, usd)| (v, usd.max(y_min)))
                .collect();
            chart
                .draw_series(LineSeries::new(points, c.stroke_width(2)))
                .map_err(drawing)?
                .label(line.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
        }
        chart
            .draw_series(
                self.crossovers
                    .iter()
                    .filter(|(v, _, _)| *v >= x_min && *v <= x_max)
                    .map(|(v, usd, _)| Circle::new((*v, *usd), 6, BLACK.stroke_width(2))),
            )
            .map_err(drawing)?
            .label("break-even (same model)")
            .legend(|(x, y)| Circle::new((x + 10, y), 5, BLACK.stroke_width(2)));
        let planned = self.planned_volume;
        chart
            .draw_series(DashedLineSeries::new(
                [(planned, y_min), (planned, y_max)],
                6,
                4,
                BLACK.mix(0.5).stroke_width(1),
            ))
            .map_err(drawing)?
            .label(format!(
                "this scenario's volume: {} requests/month",
                count_axis(planned)
            ))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.5)));
        legend(&mut chart, SeriesLabelPosition::UpperLeft, 13.0)?;
        Ok(())
    }
}

/// From list price, each hidden-cost factor's mean addition, to the realistic P50 and P90.
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetWaterfall {
    pub title: String,
    pub list_usd: f64,
    /// (factor, mean monthly USD it adds)
    pub steps: Vec<(String, f64)>,
    pub p50_usd: f64,
    pub p90_usd: f64,
}

impl Chart for BudgetWaterfall {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let n = self.steps.len() + 3;
        // The highest running total: a saving (a negative step) comes down from it.
        let y_max = self
            .steps
            .iter()
            .scan(self.list_usd, |level, s| {
                *level += s.1;
                Some(*level)
            })
            .fold(self.p90_usd.max(self.list_usd), f64::max);
        // Plotters' integer ranges include their end: 0..n-1 is n slots.
        let mut chart = frame(root, &self.title, 60, 90)?
            .build_cartesian_2d((0..n - 1).into_segmented(), 0.0..y_max * 1.08)
            .map_err(drawing)?;
        let mut labels = vec!["list price".to_string()];
        labels.extend(self.steps.iter().map(|s| s.0.clone()));
        labels.extend(["P50".to_string(), "P90".to_string()]);
        chart
            .configure_mesh()
            .disable_x_mesh()
            // The factor names are too long for one line under a bar: drawn below, wrapped.
            .x_label_formatter(&|_| String::new())
            .y_desc("monthly USD")
            .y_label_formatter(&|v| usd_axis(*v))
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(drawing)?;
        let style = TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
        for (i, label) in labels.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(SegmentValue::CenterOf(i), 0.0));
            for (line, text) in wrap(label, 14).iter().enumerate() {
                let at = (x, y + 8 + 15 * line as i32);
                root.draw(&Text::new(text.as_str(), at, style.clone()))
                    .map_err(drawing)?;
            }
        }
        let bar = |i: usize, lo: f64, hi: f64, style: ShapeStyle| {
            Rectangle::new(
                [
                    (SegmentValue::Exact(i), lo),
                    (SegmentValue::Exact(i + 1), hi),
                ],
                style,
            )
        };
        let mut bars = vec![bar(0, 0.0, self.list_usd, colour(0).filled())];
        let mut level = self.list_usd;
        for (k, (_, usd)) in self.steps.iter().enumerate() {
            // Additions in one colour, savings (the prompt cache) in another.
            let c = if *usd < 0.0 { colour(4) } else { colour(1) };
            bars.push(bar(k + 1, level, level + usd, c.filled()));
            level += usd;
        }
        bars.push(bar(n - 2, 0.0, self.p50_usd, colour(2).filled()));
        bars.push(bar(n - 1, 0.0, self.p90_usd, colour(3).filled()));
        chart.draw_series(bars).map_err(drawing)?;
        Ok(())
    }
}

/// Words joined into lines of at most `width` characters (a longer word gets a line alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn labels_wrap_at_word_boundaries() {
        assert_eq!(
            wrap("monitoring and logging", 14),
            ["monitoring and", "logging"]
        );
        assert_eq!(wrap("P50", 14), ["P50"]);
        assert_eq!(wrap("conversation-history", 14), ["conversation-history"]);
    }
}
