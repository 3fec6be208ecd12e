//! Actual against plan (`llmcap actual`): each figure's error, actual ÷ plan − 1, as a bar per
//! option, with zero (the plan exactly) marked.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{colour, drawable, drawing, frame, legend, padded, Chart, ChartError, FONT};

/// One option's errors, in the order of `metrics`.
#[derive(Clone, Debug, PartialEq)]
pub struct OptionErrors {
    pub name: String,
    /// Per metric: the error as a fraction (none where the plan's figure is 0).
    pub errors: Vec<Option<f64>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActualAgainstPlan {
    pub title: String,
    pub metrics: Vec<String>,
    pub options: Vec<OptionErrors>,
}

impl Chart for ActualAgainstPlan {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let values = || {
            self.options
                .iter()
                .flat_map(|o| o.errors.iter().flatten().map(|e| drawable(e * 100.0)))
        };
        let lo = values().fold(0.0, f64::min);
        let hi = values().fold(0.0, f64::max);
        let n = self.metrics.len().max(1);
        let mut chart = frame(root, &self.title, 60, 70)?
            .build_cartesian_2d(0.0..n as f64, padded(lo.min(-10.0), hi.max(10.0)))
            .map_err(drawing)?;
        let metrics = self.metrics.clone();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n * 2 + 1)
            .x_label_formatter(&move |v| {
                let i = v.floor() as usize;
                if (v - v.floor() - 0.5).abs() < 0.01 {
                    metrics.get(i).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_desc("actual ÷ plan − 1 (%)")
            .y_label_formatter(&|v| format!("{v:+.0} %"))
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(drawing)?;
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0.0), (n as f64, 0.0)],
                BLACK.stroke_width(1),
            ))
            .map_err(drawing)?;
        let k = self.options.len().max(1) as f64;
        let width = 0.8 / k;
        for (j, option) in self.options.iter().enumerate() {
            let c = colour(j);
            let bars = option.errors.iter().enumerate().filter_map(|(i, e)| {
                let e = drawable((*e)? * 100.0);
                let x0 = i as f64 + 0.1 + width * j as f64;
                Some(Rectangle::new([(x0, 0.0), (x0 + width, e)], c.filled()))
            });
            chart
                .draw_series(bars)
                .map_err(drawing)?
                .label(option.name.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight, 13.0)
    }
}
