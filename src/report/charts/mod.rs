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

/// Writes `<stem>.svg` and `<stem>.png` into `dir`.
pub fn render(chart: &impl Chart, dir: &Path, stem: &str) -> Result<ChartFiles, ChartError> {
    register_font();
    std::fs::create_dir_all(dir).map_err(|cause| ChartError::Directory {
        dir: dir.to_path_buf(),
        cause,
    })?;
    let svg = dir.join(format!("{stem}.svg"));
    let png = dir.join(format!("{stem}.png"));
    {
        let root = SVGBackend::new(&svg, (WIDTH, HEIGHT)).into_drawing_area();
        chart.draw(&root).map_err(|e| e.in_file(&svg))?;
        root.present().map_err(|e| drawing(e).in_file(&svg))?;
    }
    {
        let root = BitMapBackend::new(&png, (WIDTH, HEIGHT)).into_drawing_area();
        chart.draw(&root).map_err(|e| e.in_file(&png))?;
        root.present().map_err(|e| drawing(e).in_file(&png))?;
    }
    Ok(ChartFiles { svg, png })
}

/// `lo..hi` padded by 5 % (and never empty), for an axis.
pub fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    let span = (hi - lo).abs().max(hi.abs() * 0.1).max(1e-9);
    (lo - 0.05 * span)..(hi + 0.05 * span)
}
