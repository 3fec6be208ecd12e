//! Charts of a calibration run: speed against concurrency (seed 002's figures 4–8), TTFT
//! against concurrency, latency histograms per level, concurrency over time.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{colour, drawing, frame, legend, padded, Chart, ChartError, FONT};

/// One level's spread of a metric.
#[derive(Clone, Debug, PartialEq)]
pub struct LevelSpread {
    pub concurrency: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
}

/// One prompt size: measured spreads and the fitted curve.
#[derive(Clone, Debug, PartialEq)]
pub struct SpreadSeries {
    pub label: String,
    pub levels: Vec<LevelSpread>,
    pub fitted: Vec<(f64, f64)>,
}

/// A metric against concurrency: a p25–p75 band and the median per level, one line per prompt
/// size, over the fitted curve.
#[derive(Clone, Debug, PartialEq)]
pub struct AgainstConcurrency {
    pub title: String,
    pub y_label: String,
    pub series: Vec<SpreadSeries>,
}

impl Chart for AgainstConcurrency {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let xs = self.series.iter().flat_map(|s| {
            s.levels
                .iter()
                .map(|l| l.concurrency)
                .chain(s.fitted.iter().map(|p| p.0))
        });
        let x_max = xs.fold(1.0, f64::max);
        let ys = self.series.iter().flat_map(|s| {
            s.levels
                .iter()
                .flat_map(|l| [l.p25, l.p75])
                .chain(s.fitted.iter().map(|p| p.1))
        });
        let y_max = ys.filter(|y| y.is_finite()).fold(0.0, f64::max);
        let mut chart = frame(root, &self.title, 44, 70)?
            .build_cartesian_2d(0.0..x_max * 1.05, padded(0.0, y_max))
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .x_desc("requests in flight (concurrency)")
            .y_desc(&self.y_label)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(drawing)?;
        for (i, series) in self.series.iter().enumerate() {
            let c = colour(i);
            let mut band: Vec<(f64, f64)> = series
                .levels
                .iter()
                .map(|l| (l.concurrency, l.p75))
                .collect();
            band.extend(series.levels.iter().rev().map(|l| (l.concurrency, l.p25)));
            if band.len() >= 4 {
                chart
                    .draw_series(std::iter::once(Polygon::new(band, c.mix(0.18).filled())))
                    .map_err(drawing)?;
            }
            if !series.fitted.is_empty() {
                chart
                    .draw_series(LineSeries::new(
                        series.fitted.iter().copied(),
                        c.stroke_width(2),
                    ))
                    .map_err(drawing)?
                    .label(format!("{} (fitted)", series.label))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                    });
            }
            chart
                .draw_series(
                    series
                        .levels
                        .iter()
                        .map(|l| Circle::new((l.concurrency, l.p50), 5, c.filled())),
                )
                .map_err(drawing)?
                .label(format!("{} measured p50 (band p25–p75)", series.label))
                .legend(move |(x, y)| Circle::new((x + 10, y), 5, c.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight, 13.0)?;
        Ok(())
    }
}

/// Histograms of one metric, one outline per level.
#[derive(Clone, Debug, PartialEq)]
pub struct LevelHistograms {
    pub title: String,
    pub x_label: String,
    /// (level label, values)
    pub levels: Vec<(String, Vec<f64>)>,
    pub bins: usize,
}

impl LevelHistograms {
    /// Bin edges shared by every level, and each level's counts.
    pub fn counts(&self) -> (Vec<f64>, Vec<Vec<u32>>) {
        let all = self.levels.iter().flat_map(|l| l.1.iter().copied());
        let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        let bins = self.bins.max(1);
        let (lo, hi) = if lo.is_finite() {
            (lo, hi.max(lo + 1e-9))
        } else {
            (0.0, 1.0)
        };
        let width = (hi - lo) / bins as f64;
        let edges: Vec<f64> = (0..=bins).map(|i| lo + width * i as f64).collect();
        let counts = self
            .levels
            .iter()
            .map(|(_, values)| {
                let mut counts = vec![0u32; bins];
                for v in values {
                    let bin = (((v - lo) / width) as usize).min(bins - 1);
                    counts[bin] += 1;
                }
                counts
            })
            .collect();
        (edges, counts)
    }
}

impl Chart for LevelHistograms {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let (edges, counts) = self.counts();
        let y_max = counts.iter().flatten().copied().max().unwrap_or(1).max(1);
        let mut chart = frame(root, &self.title, 44, 60)?
            .build_cartesian_2d(
                padded(edges[0], *edges.last().expect("edges")),
                0u32..y_max + 1,
            )
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc("requests")
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(drawing)?;
        for (i, ((label, _), counts)) in self.levels.iter().zip(&counts).enumerate() {
            let c = colour(i);
            // A step outline, so overlapping levels stay readable.
            let mut outline = vec![(edges[0], 0u32)];
            for (bin, &count) in counts.iter().enumerate() {
                outline.push((edges[bin], count));
                outline.push((edges[bin + 1], count));
            }
            outline.push((*edges.last().expect("edges"), 0));
            chart
                .draw_series(LineSeries::new(outline, c.stroke_width(2)))
                .map_err(drawing)?
                .label(label.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2))
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight, 12.0)?;
        Ok(())
    }
}

/// Requests in flight over the run.
#[derive(Clone, Debug, PartialEq)]
pub struct ConcurrencyOverTime {
    pub title: String,
    /// (seconds since the run started, requests in flight) at each change.
    pub steps: Vec<(f64, u32)>,
}

impl ConcurrencyOverTime {
    /// From each request's (start, end): +1 at start, −1 at end.
    pub fn from_intervals(title: String, intervals: &[(f64, f64)]) -> ConcurrencyOverTime {
        let mut events: Vec<(f64, i32)> = intervals
            .iter()
            .flat_map(|&(start, end)| [(start, 1), (end, -1)])
            .collect();
        events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut level = 0i32;
        let steps = events
            .into_iter()
            .map(|(t, delta)| {
                level += delta;
                (t, level.max(0) as u32)
            })
            .collect();
        ConcurrencyOverTime { title, steps }
    }
}

impl Chart for ConcurrencyOverTime {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let t_max = self.steps.last().map_or(1.0, |s| s.0).max(1e-3);
        let y_max = self.steps.iter().map(|s| s.1).max().unwrap_or(1).max(1);
        let mut chart = frame(root, &self.title, 44, 60)?
            .build_cartesian_2d(0.0..t_max * 1.02, 0u32..y_max + 1)
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .x_desc("seconds since the run started")
            .y_desc("requests in flight")
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(drawing)?;
        let mut line = Vec::with_capacity(self.steps.len() * 2);
        let mut previous = 0u32;
        for &(t, n) in &self.steps {
            line.push((t, previous));
            line.push((t, n));
            previous = n;
        }
        chart
            .draw_series(LineSeries::new(line, colour(0).stroke_width(1)))
            .map_err(drawing)?;
        Ok(())
    }
}
