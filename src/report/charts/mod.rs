//! Charts as SVG and PNG with plotters. The font (DejaVu Sans) is compiled in and registered
//! with plotters' ab_glyph backend, so rendering needs no system font.
//!
//! Each chart is a plain data struct implementing [`Chart`]; drawing does no I/O beyond the
//! two files [`render`] writes.

pub mod actual;
pub mod calibration;
pub mod error;
pub mod forecast;
pub mod plan;
pub mod verify;

pub use error::{drawing, ChartError};

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

pub const WIDTH: u32 = 900;
pub const HEIGHT: u32 = 540;
pub const FONT: &str = "sans-serif";

static FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES)
            .map_err(|_| ())
            .expect("the bundled DejaVu Sans is a valid font");
    });
}

/// Series colours, distinguishable in print and for common colour-vision deficiencies
/// (Okabe–Ito).
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
];

pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The frame every chart shares: white background, title, margins and axis label areas.
pub fn frame<'a, 'b, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
    x_label_area: u32,
    y_label_area: u32,
) -> Result<ChartBuilder<'a, 'b, DB>, ChartError> {
    root.fill(&WHITE).map_err(drawing)?;
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(title, (FONT, 22))
        .margin(14)
        .x_label_area_size(x_label_area)
        .y_label_area_size(y_label_area);
    Ok(builder)
}

/// The legend every chart with several series draws.
pub fn legend<'a, DB: DrawingBackend + 'a, CT: plotters::coord::CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
    font_size: f64,
) -> Result<(), ChartError> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, font_size))
        .draw()
        .map_err(drawing)
}

pub trait Chart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), ChartError>;
}

/// The files one chart was written to.
#[derive(Clone, Debug)]
pub struct ChartFiles {
    pub svg: PathBuf,
    pub png: PathBuf,
}

/// Writes `<stem>.svg` and `<stem>.png` into `dir`. Both are drawn before either is written,
/// and each is written atomically (a temporary file renamed into place), only over a regular
/// file or a new path (`files::replace_via`).
pub fn render(chart: &impl Chart, dir: &Path, stem: &str) -> Result<ChartFiles, ChartError> {
    register_font();
    crate::files::create_dir(dir)?;
    let svg = dir.join(format!("{stem}.svg"));
    let png = dir.join(format!("{stem}.png"));
    let mut svg_text = String::new();
    {
        let root = SVGBackend::with_string(&mut svg_text, (WIDTH, HEIGHT)).into_drawing_area();
        chart.draw(&root).map_err(|e| e.in_file(&svg))?;
        root.present().map_err(|e| drawing(e).in_file(&svg))?;
    }
    crate::files::replace_via(&png, ".png", |partial| {
        let root = BitMapBackend::new(partial, (WIDTH, HEIGHT)).into_drawing_area();
        chart.draw(&root).map_err(|e| e.in_file(&png))?;
        root.present().map_err(|e| drawing(e).in_file(&png))
    })?;
    crate::files::write_atomically(&svg, &svg_text)?;
    Ok(ChartFiles { svg, png })
}

/// The largest magnitude an axis spans. Beyond it plotters' tick arithmetic overflows (and
/// panics on the NaN that follows), and no chart of a plan, a forecast or a measurement has
/// a real value there; a value past it is drawn at the edge.
pub const AXIS_LIMIT: f64 = 1e15;

/// A value as a chart draws it: clamped to ±[`AXIS_LIMIT`], NaN as 0.
pub fn drawable(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(-AXIS_LIMIT, AXIS_LIMIT)
    }
}

/// `lo..hi` padded by 5 % (and never empty), for an axis; ends beyond ±[`AXIS_LIMIT`] are
/// clamped to it, and a NaN or infinite pair gives 0..1.
pub fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (drawable(lo), drawable(hi))
    } else {
        (0.0, 1.0)
    };
    let span = (hi - lo).abs().max(hi.abs() * 0.1).max(1e-9);
    (lo - 0.05 * span)..(hi + 0.05 * span)
}

#[cfg(test)]
mod tests {
    use super::actual::{ActualAgainstPlan, OptionErrors};
    use super::forecast::{FanSeries, SpendFan, TornadoChart};
    use super::*;
    use crate::forecast::{Band, TornadoBar};

    /// The SVG a chart draws, or its error.
    fn svg(chart: &impl Chart) -> Result<String, ChartError> {
        register_font();
        let mut text = String::new();
        {
            let root = SVGBackend::with_string(&mut text, (WIDTH, HEIGHT)).into_drawing_area();
            chart.draw(&root)?;
            root.present().map_err(drawing)?;
        }
        Ok(text)
    }

    const EXTREMES: [f64; 7] = [
        1e308,
        -1e308,
        f64::MAX,
        f64::MIN_POSITIVE,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ];

    #[test]
    fn axes_are_clamped_and_never_empty() {
        assert_eq!(drawable(1e308), AXIS_LIMIT);
        assert_eq!(drawable(-f64::INFINITY), -AXIS_LIMIT);
        assert_eq!(drawable(f64::NAN), 0.0);
        assert_eq!(drawable(12.5), 12.5);
        let r = padded(-1e308, 1e308);
        let span = 2.0 * AXIS_LIMIT;
        assert_eq!(r, (-AXIS_LIMIT - 0.05 * span)..(AXIS_LIMIT + 0.05 * span));
        assert_eq!(padded(f64::NAN, 1.0), -0.05..1.05);
    }

    #[test]
    fn huge_and_non_finite_values_draw_at_the_edge_without_panicking() {
        for v in EXTREMES {
            let errors = ActualAgainstPlan {
                title: "t".into(),
                metrics: vec!["a".into(), "b".into()],
                options: vec![OptionErrors {
                    name: "o".into(),
                    errors: vec![Some(v), Some(0.5)],
                }],
            };
            let text = svg(&errors).unwrap_or_else(|e| panic!("{v}: {e}"));
            assert!(text.contains("<rect"), "{v}: bars drawn");
            let band = Band {
                p10: v,
                p50: v,
                p90: v,
                mean: v,
            };
            let fan = SpendFan {
                title: "t".into(),
                series: vec![FanSeries {
                    name: "o".into(),
                    months: vec![band, band],
                }],
            };
            assert!(svg(&fan).is_ok(), "{v}");
            let tornado = TornadoChart {
                title: "t".into(),
                base_usd: v,
                bars: vec![TornadoBar {
                    input: "usage_per_user".into(),
                    at_p10_usd: -v,
                    at_p90_usd: v,
                }],
            };
            assert!(svg(&tornado).is_ok(), "{v}");
            let judged = verify::Judged {
                measured: v,
                simulated: 1.0,
                low: -v,
                high: v,
            };
            let latency = verify::LatencyByUsers {
                title: "t".into(),
                slo_ttft_s: v,
                slo_tpot_s: 0.1,
                populations: vec![verify::Population {
                    users: 3,
                    ttft_p95: judged,
                    tpot_p95: judged,
                }],
            };
            assert!(svg(&latency).is_ok(), "{v}");
            let in_flight = verify::InFlightOverTime {
                title: "t".into(),
                measured: vec![(0.5, v), (v, 1.0)],
                stretches: vec![verify::Stretch {
                    users: 3,
                    from_s: 0.0,
                    to_s: v,
                    plan: judged,
                }],
            };
            assert!(svg(&in_flight).is_ok(), "{v}");
        }
    }
}
