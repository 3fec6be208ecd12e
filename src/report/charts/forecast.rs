//! The forecast's charts: a fan of monthly spend per option (P10–P90 band, P50 line) and a
//! tornado of which input moves the horizon's cost most.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{colour, drawable, drawing, frame, legend, Chart, ChartError, FONT};
use crate::forecast::{Band, TornadoBar};
use crate::format::usd_axis;

/// One option's months.
#[derive(Clone, Debug, PartialEq)]
pub struct FanSeries {
    pub name: String,
    pub months: Vec<Band>,
}

/// Monthly spend per option on a log scale (per-token and per-instance options differ by
/// orders of magnitude): the P10–P90 band shaded, the P50 drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct SpendFan {
    pub title: String,
    pub series: Vec<FanSeries>,
}

impl Chart for SpendFan {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let months = self
            .series
            .iter()
            .map(|s| s.months.len())
            .max()
            .unwrap_or(1)
            .max(1);
        let values = || self.series.iter().flat_map(|s| s.months.iter());
        let y_min = values()
            .map(|b| drawable(b.p10))
            .filter(|v| *v > 0.0)
            .fold(f64::INFINITY, f64::min);
        // A floor of a millionth of a dollar: a log axis cannot reach 0.
        let y_min = if y_min.is_finite() {
            (y_min * 0.7).max(1e-6)
        } else {
            1.0
        };
        let y_max = values()
            .map(|b| drawable(b.p90))
            .fold(y_min * 10.0, f64::max)
            * 1.4;
        // Drawn within the axis: at least its floor, at most its ceiling.
        let at = |v: f64| drawable(v).max(y_min).min(y_max);
        let mut chart = frame(root, &self.title, 44, 80)?
            .build_cartesian_2d(0.5..months as f64 + 0.5, (y_min..y_max).log_scale())
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .x_desc("month")
            .y_desc("monthly spend (log scale)")
            .x_labels(months.min(24))
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| usd_axis(*v))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(drawing)?;
        for (i, s) in self.series.iter().enumerate() {
            let c = colour(i);
            let band: Vec<(f64, f64)> = s
                .months
                .iter()
                .enumerate()
                .map(|(m, b)| (m as f64 + 1.0, at(b.p90)))
                .chain(
                    s.months
                        .iter()
                        .enumerate()
                        .rev()
                        .map(|(m, b)| (m as f64 + 1.0, at(b.p10))),
                )
                .collect();
            chart
                .draw_series(std::iter::once(Polygon::new(band, c.mix(0.18).filled())))
                .map_err(drawing)?;
            chart
                .draw_series(LineSeries::new(
                    s.months
                        .iter()
                        .enumerate()
                        .map(|(m, b)| (m as f64 + 1.0, at(b.p50))),
                    c.stroke_width(2),
                ))
                .map_err(drawing)?
                .label(format!("{} (P50, band P10–P90)", s.name))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight, 12.0)?;
        Ok(())
    }
}

/// Each input at its P10 and P90 with the others at their medians: the horizon's cost, as bars
/// about the all-median cost, largest swing on top.
#[derive(Clone, Debug, PartialEq)]
pub struct TornadoChart {
    pub title: String,
    pub base_usd: f64,
    pub bars: Vec<TornadoBar>,
}

impl Chart for TornadoChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let n = self.bars.len().max(1);
        let base = drawable(self.base_usd);
        let ends = |b: &TornadoBar| [drawable(b.at_p10_usd), drawable(b.at_p90_usd)];
        let lo = self.bars.iter().flat_map(ends).fold(base, f64::min);
        let hi = self.bars.iter().flat_map(ends).fold(base, f64::max);
        let pad = (hi - lo).max(base.abs() * 0.05).max(1.0) * 0.1;
        let (x_min, x_max) = (lo - pad, hi + pad);
        // Rows as plain numbers (largest swing on top), labelled by hand at each row's middle.
        let mut chart = frame(root, &self.title, 44, 250)?
            .build_cartesian_2d(x_min..x_max, 0.0..n as f64)
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_desc("cost over the horizon, each input at its P10 and P90 (others at median)")
            .x_label_formatter(&|v| usd_axis(*v))
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()
            .map_err(drawing)?;
        let style =
            TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
        for (k, bar) in self.bars.iter().enumerate() {
            let row = (n - 1 - k) as f64;
            let (x, y) = chart.backend_coord(&(x_min, row + 0.5));
            root.draw(&Text::new(bar.input.as_str(), (x - 8, y), style.clone()))
                .map_err(drawing)?;
            let rect = |a: f64, b: f64, style: ShapeStyle| {
                Rectangle::new([(a.min(b), row + 0.15), (a.max(b), row + 0.85)], style)
            };
            chart
                .draw_series([
                    rect(base, drawable(bar.at_p10_usd), colour(0).mix(0.75).filled()),
                    rect(base, drawable(bar.at_p90_usd), colour(1).mix(0.75).filled()),
                ])
                .map_err(drawing)?;
        }
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(base, 0.0), (base, n as f64)],
                BLACK.stroke_width(1),
            )))
            .map_err(drawing)?
            .label(format!(
                "every input at its median: {}",
                usd_axis(self.base_usd)
            ))
            .legend(|(x, y)| PathElement::new(vec![(x + 8, y - 6), (x + 8, y + 6)], BLACK));
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .map_err(drawing)?
            .label("input at its P10")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], colour(0).filled()));
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .map_err(drawing)?
            .label("input at its P90")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], colour(1).filled()));
        legend(&mut chart, SeriesLabelPosition::LowerRight, 12.0)?;
        Ok(())
    }
}
