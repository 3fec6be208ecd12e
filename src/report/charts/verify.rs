//! verify's charts: each population's measured p95 latencies beside the plan's (its
//! simulations' median and 90 % interval) and the SLO, by users; and requests in flight over
//! the whole run, measured, against the plan's mean and interval for each population.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{colour, drawable, drawing, frame, legend, padded, Chart, ChartError, FONT};

/// One figure of one population: measured, and the plan's median and 90 % interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Judged {
    pub measured: f64,
    pub simulated: f64,
    pub low: f64,
    pub high: f64,
}

/// A population's p95 TTFT and TPOT.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Population {
    pub users: u32,
    pub ttft_p95: Judged,
    pub tpot_p95: Judged,
}

/// p95 TTFT and p95 TPOT against users, side by side: the plan's interval as a bar, its median
/// as a hollow circle, the measurement as a filled one, the SLO as a line.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencyByUsers {
    pub title: String,
    pub slo_ttft_s: f64,
    pub slo_tpot_s: f64,
    pub populations: Vec<Population>,
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    slo: f64,
    points: &[(u32, Judged)],
) -> Result<(), ChartError> {
    let x_max = points.iter().map(|p| f64::from(p.0)).fold(1.0, f64::max) * 1.15;
    let y_max = points
        .iter()
        .flat_map(|(_, j)| [j.measured, j.high, j.simulated])
        .map(drawable)
        .filter(|v| v.is_finite())
        .fold(drawable(slo), f64::max)
        * 1.1;
    let mut chart = frame(area, title, 44, 64)?
        .build_cartesian_2d(0.0..x_max, padded(0.0, y_max.max(1e-6)))
        .map_err(drawing)?;
    chart
        .configure_mesh()
        .x_desc("users")
        .y_desc("seconds")
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .draw()
        .map_err(drawing)?;
    let (plan, measured, limit) = (colour(0), colour(1), RGBColor(200, 0, 0));
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(0.0, drawable(slo)), (x_max, drawable(slo))],
            limit.stroke_width(2),
        )))
        .map_err(drawing)?
        .label("SLO")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], limit.stroke_width(2)));
    chart
        .draw_series(points.iter().map(|(u, j)| {
            let x = f64::from(*u);
            PathElement::new(
                vec![(x, drawable(j.low)), (x, drawable(j.high))],
                plan.mix(0.6).stroke_width(6),
            )
        }))
        .map_err(drawing)?
        .label("plan: 90 % interval")
        .legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 16, y)], plan.mix(0.6).stroke_width(6))
        });
    chart
        .draw_series(points.iter().map(|(u, j)| {
            Circle::new(
                (f64::from(*u), drawable(j.simulated)),
                5,
                plan.stroke_width(2),
            )
        }))
        .map_err(drawing)?
        .label("plan: median")
        .legend(move |(x, y)| Circle::new((x + 8, y), 5, plan.stroke_width(2)));
    chart
        .draw_series(
            points.iter().map(|(u, j)| {
                Circle::new((f64::from(*u), drawable(j.measured)), 4, measured.filled())
            }),
        )
        .map_err(drawing)?
        .label("measured")
        .legend(move |(x, y)| Circle::new((x + 8, y), 4, measured.filled()));
    legend(&mut chart, SeriesLabelPosition::UpperLeft, 12.0)
}

impl Chart for LatencyByUsers {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        root.fill(&WHITE).map_err(drawing)?;
        let root = root.titled(&self.title, (FONT, 20)).map_err(drawing)?;
        let (left, right) = root.split_horizontally(super::WIDTH / 2);
        let ttft: Vec<(u32, Judged)> = self
            .populations
            .iter()
            .map(|p| (p.users, p.ttft_p95))
            .collect();
        let tpot: Vec<(u32, Judged)> = self
            .populations
            .iter()
            .map(|p| (p.users, p.tpot_p95))
            .collect();
        panel(&left, "p95 TTFT", self.slo_ttft_s, &ttft)?;
        panel(&right, "p95 TPOT", self.slo_tpot_s, &tpot)
    }
}

/// Which of a [`Judged`]'s values to draw.
type Pick = fn(&Judged) -> f64;

/// One population's stretch of the run, on the run's clock (populations end to end).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stretch {
    pub users: u32,
    /// When its measured window starts and ends.
    pub from_s: f64,
    pub to_s: f64,
    /// The plan's mean in flight there: median and 90 % interval.
    pub plan: Judged,
}

/// Requests in flight over the whole run: measured (a point a second, warm-ups included) and
/// the plan's mean for each population's measured window, its interval shaded.
#[derive(Clone, Debug, PartialEq)]
pub struct InFlightOverTime {
    pub title: String,
    pub measured: Vec<(f64, f64)>,
    pub stretches: Vec<Stretch>,
}

impl Chart for InFlightOverTime {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let x_max = self
            .measured
            .iter()
            .map(|p| p.0)
            .chain(self.stretches.iter().map(|s| s.to_s))
            .map(drawable)
            .fold(1.0, f64::max);
        let y_max = self
            .measured
            .iter()
            .map(|p| p.1)
            .chain(self.stretches.iter().map(|s| s.plan.high))
            .map(drawable)
            .fold(1.0, f64::max)
            * 1.15;
        let mut chart = frame(root, &self.title, 44, 64)?
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .x_desc("seconds into the run (populations one after another)")
            .y_desc("requests in flight")
            .label_style((FONT, 13))
            .axis_desc_style((FONT, 14))
            .draw()
            .map_err(drawing)?;
        let (plan, measured) = (colour(0), colour(1));
        chart
            .draw_series(self.stretches.iter().map(|s| {
                Rectangle::new(
                    [
                        (drawable(s.from_s), drawable(s.plan.low)),
                        (drawable(s.to_s), drawable(s.plan.high)),
                    ],
                    plan.mix(0.2).filled(),
                )
            }))
            .map_err(drawing)?
            .label("plan: 90 % interval of the mean")
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 16, y + 5)], plan.mix(0.2).filled())
            });
        // Each population's mean, planned and measured, across its measured window.
        let means: [(&str, RGBColor, Pick); 2] = [
            ("plan: mean", plan, |j| j.simulated),
            ("measured: mean", measured, |j| j.measured),
        ];
        for (label, c, value) in means {
            chart
                .draw_series(self.stretches.iter().map(|s| {
                    let y = drawable(value(&s.plan));
                    PathElement::new(
                        vec![(drawable(s.from_s), y), (drawable(s.to_s), y)],
                        c.stroke_width(2),
                    )
                }))
                .map_err(drawing)?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2))
                });
        }
        chart
            .draw_series(LineSeries::new(
                self.measured
                    .iter()
                    .map(|&(t, n)| (drawable(t), drawable(n))),
                measured.mix(0.5),
            ))
            .map_err(drawing)?
            .label("measured: each second")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], measured.mix(0.5)));
        // Each population named just above the higher of its two means and its interval.
        chart
            .draw_series(self.stretches.iter().map(|s| {
                let top = [s.plan.measured, s.plan.high, s.plan.simulated]
                    .into_iter()
                    .map(drawable)
                    .fold(0.0, f64::max);
                Text::new(
                    format!("{} users", s.users),
                    (drawable(s.from_s), (top + 0.06 * y_max).min(y_max)),
                    (FONT, 12),
                )
            }))
            .map_err(drawing)?;
        legend(&mut chart, SeriesLabelPosition::UpperLeft, 12.0)
    }
}
