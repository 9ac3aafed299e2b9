//! Model-performance plots (the original design's W&B panels), drawn with plotters as PNG or
//! SVG and ready to log as run artifacts: predictions vs actual, residuals, rating
//! distributions, error distribution.
//!
//! Text (titles, axis labels) needs a TrueType font, which is read at run time from
//! `RECWATCH_PLOT_FONT` or the usual system locations (DejaVu Sans, Liberation Sans, Arial;
//! Debian's `fonts-dejavu-core`); without one the plots are drawn without text. Nothing is
//! fetched from the network.
//!
//! # Example
//!
//! ```
//! use recwatch::tracking::plots::{performance_plots, PlotFormat};
//!
//! let actual = [4.0, 3.0, 5.0, 2.5];
//! let predicted = [3.8, 3.4, 4.1, 2.9];
//! let plots = performance_plots(&actual, &predicted, PlotFormat::Svg)?;
//! assert_eq!(plots.len(), 4);
//! assert!(plots[0].file_name.ends_with(".svg"));
//! assert!(String::from_utf8_lossy(&plots[0].data).contains("<svg"));
//! # Ok::<(), recwatch::TrackingError>(())
//! ```

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{PlotError, TrackingError};

const W: u32 = 800;
const H: u32 = 600;
const FONT: &str = "recwatch-sans";

/// Image format of a plot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlotFormat {
    /// PNG (RGB, 800 × 600).
    Png,
    /// SVG.
    Svg,
}

impl PlotFormat {
    /// The file extension (`png`, `svg`).
    pub const fn extension(self) -> &'static str {
        match self {
            PlotFormat::Png => "png",
            PlotFormat::Svg => "svg",
        }
    }
}

/// One drawn plot.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Plot {
    /// File name with extension (`predictions_vs_actual.png`, …).
    pub file_name: String,
    /// The encoded image.
    pub data: Vec<u8>,
}

/// Whether a font was found, so plots carry titles and axis labels.
pub fn has_text() -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    *FOUND.get_or_init(|| {
        let candidates = std::env::var_os("RECWATCH_PLOT_FONT")
            .map(std::path::PathBuf::from)
            .into_iter()
            .chain(
                [
                    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                    "/usr/share/fonts/TTF/DejaVuSans.ttf",
                    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
                    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
                    "/Library/Fonts/Arial.ttf",
                    "/System/Library/Fonts/Supplemental/Arial.ttf",
                    "C:\\Windows\\Fonts\\arial.ttf",
                ]
                .into_iter()
                .map(std::path::PathBuf::from),
            );
        for path in candidates {
            if let Ok(bytes) = std::fs::read(&path) {
                // Registered once per process; the font lives as long as the process.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font(FONT, FontStyle::Normal, bytes).is_ok() {
                    return true;
                }
            }
        }
        false
    })
}

fn err<E: std::fmt::Display>(name: &'static str) -> impl Fn(E) -> TrackingError {
    move |e| TrackingError::Plot {
        name,
        source: PlotError(e.to_string()),
    }
}

fn bounds(values: &[f64]) -> (f64, f64) {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = ((hi - lo) * 0.05).max(0.05);
    (lo - pad, hi + pad)
}

fn histogram(values: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<u32> {
    let mut counts = vec![0u32; bins];
    let width = (hi - lo) / bins as f64;
    for v in values {
        let i = (((v - lo) / width) as usize).min(bins - 1);
        counts[i] += 1;
    }
    counts
}

enum Kind {
    PredictionsVsActual,
    Residuals,
    RatingDistributions,
    ErrorDistribution,
}

impl Kind {
    fn name(&self) -> &'static str {
        match self {
            Kind::PredictionsVsActual => "predictions_vs_actual",
            Kind::Residuals => "residuals",
            Kind::RatingDistributions => "rating_distributions",
            Kind::ErrorDistribution => "error_distribution",
        }
    }
    fn labels(&self) -> (&'static str, &'static str, &'static str) {
        match self {
            Kind::PredictionsVsActual => {
                ("Predictions vs actual", "actual rating", "predicted rating")
            }
            Kind::Residuals => ("Residuals", "predicted rating", "actual − predicted"),
            Kind::RatingDistributions => (
                "Rating distributions (blue actual, red predicted)",
                "rating",
                "count",
            ),
            Kind::ErrorDistribution => ("Error distribution", "actual − predicted", "count"),
        }
    }
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    kind: &Kind,
    actual: &[f64],
    predicted: &[f64],
) -> Result<(), TrackingError>
where
    DB::ErrorType: 'static,
{
    let e = err(kind.name());
    root.fill(&WHITE).map_err(&e)?;
    let text = has_text();
    let (title, xl, yl) = kind.labels();
    let mut builder = ChartBuilder::on(&root);
    builder.margin(20);
    if text {
        builder
            .caption(title, (FONT, 24))
            .x_label_area_size(45)
            .y_label_area_size(60);
    }
    let residuals: Vec<f64> = actual.iter().zip(predicted).map(|(a, p)| a - p).collect();
    let point = |c: RGBColor| ShapeStyle::from(c.mix(0.5)).filled();
    macro_rules! mesh {
        ($chart:expr) => {{
            let mut mesh = $chart.configure_mesh();
            if text {
                mesh.x_desc(xl)
                    .y_desc(yl)
                    .label_style((FONT, 14))
                    .axis_desc_style((FONT, 16));
            } else {
                mesh.x_labels(0).y_labels(0);
            }
            mesh.draw().map_err(&e)?;
        }};
    }
    match kind {
        Kind::PredictionsVsActual => {
            let (lo, hi) = bounds(&[actual, predicted].concat());
            let mut chart = builder.build_cartesian_2d(lo..hi, lo..hi).map_err(&e)?;
            mesh!(chart);
            chart
                .draw_series(LineSeries::new([(lo, lo), (hi, hi)], &BLACK))
                .map_err(&e)?;
            chart
                .draw_series(
                    actual
                        .iter()
                        .zip(predicted)
                        .map(|(a, p)| Circle::new((*a, *p), 3, point(BLUE))),
                )
                .map_err(&e)?;
        }
        Kind::Residuals => {
            let (xlo, xhi) = bounds(predicted);
            let (ylo, yhi) = bounds(&residuals);
            let mut chart = builder.build_cartesian_2d(xlo..xhi, ylo..yhi).map_err(&e)?;
            mesh!(chart);
            chart
                .draw_series(LineSeries::new([(xlo, 0.0), (xhi, 0.0)], &BLACK))
                .map_err(&e)?;
            chart
                .draw_series(
                    predicted
                        .iter()
                        .zip(&residuals)
                        .map(|(p, r)| Circle::new((*p, *r), 3, point(RED))),
                )
                .map_err(&e)?;
        }
        Kind::RatingDistributions | Kind::ErrorDistribution => {
            let series: Vec<(&[f64], RGBColor)> = match kind {
                Kind::RatingDistributions => vec![(actual, BLUE), (predicted, RED)],
                _ => vec![(&residuals, GREEN)],
            };
            let all: Vec<f64> = series.iter().flat_map(|(v, _)| v.iter().copied()).collect();
            let (lo, hi) = bounds(&all);
            let bins = 30;
            let hists: Vec<Vec<u32>> = series
                .iter()
                .map(|(v, _)| histogram(v, lo, hi, bins))
                .collect();
            let top = hists.iter().flatten().copied().max().unwrap_or(1).max(1);
            let mut chart = builder
                .build_cartesian_2d(lo..hi, 0.0..f64::from(top) * 1.1)
                .map_err(&e)?;
            mesh!(chart);
            let width = (hi - lo) / bins as f64;
            for ((_, color), counts) in series.iter().zip(&hists) {
                chart
                    .draw_series(counts.iter().enumerate().map(|(i, c)| {
                        let x0 = lo + i as f64 * width;
                        Rectangle::new(
                            [(x0, 0.0), (x0 + width, f64::from(*c))],
                            color.mix(0.45).filled(),
                        )
                    }))
                    .map_err(&e)?;
            }
        }
    }
    root.present().map_err(&e)?;
    Ok(())
}

fn render(
    kind: &Kind,
    actual: &[f64],
    predicted: &[f64],
    format: PlotFormat,
) -> Result<Vec<u8>, TrackingError> {
    match format {
        PlotFormat::Svg => {
            let mut svg = String::new();
            draw(
                SVGBackend::with_string(&mut svg, (W, H)).into_drawing_area(),
                kind,
                actual,
                predicted,
            )?;
            Ok(svg.into_bytes())
        }
        PlotFormat::Png => {
            let mut rgb = vec![0u8; (W * H * 3) as usize];
            draw(
                BitMapBackend::with_buffer(&mut rgb, (W, H)).into_drawing_area(),
                kind,
                actual,
                predicted,
            )?;
            let mut png = Vec::new();
            image::ImageEncoder::write_image(
                image::codecs::png::PngEncoder::new(&mut png),
                &rgb,
                W,
                H,
                image::ColorType::Rgb8,
            )
            .map_err(err(kind.name()))?;
            Ok(png)
        }
    }
}

/// The four performance plots of `predicted` against `actual`.
///
/// # Errors
///
/// [`TrackingError::PlotData`] for empty, mismatched or non-finite input,
/// [`TrackingError::Plot`] when drawing fails.
pub fn performance_plots(
    actual: &[f64],
    predicted: &[f64],
    format: PlotFormat,
) -> Result<Vec<Plot>, TrackingError> {
    // The same checks as the metrics: equal, non-empty, finite.
    crate::quality::rmse(actual, predicted).map_err(TrackingError::PlotData)?;
    [
        Kind::PredictionsVsActual,
        Kind::Residuals,
        Kind::RatingDistributions,
        Kind::ErrorDistribution,
    ]
    .iter()
    .map(|kind| {
        Ok(Plot {
            file_name: format!("{}.{}", kind.name(), format.extension()),
            data: render(kind, actual, predicted, format)?,
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_plots_are_png_files() {
        let actual: Vec<f64> = (0..50).map(|i| 1.0 + (i % 9) as f64 * 0.5).collect();
        let predicted: Vec<f64> = actual.iter().map(|a| a * 0.9 + 0.3).collect();
        let plots = performance_plots(&actual, &predicted, PlotFormat::Png).unwrap();
        let names: Vec<&str> = plots.iter().map(|p| p.file_name.as_str()).collect();
        assert_eq!(
            names,
            [
                "predictions_vs_actual.png",
                "residuals.png",
                "rating_distributions.png",
                "error_distribution.png"
            ]
        );
        for p in &plots {
            assert_eq!(&p.data[..8], b"\x89PNG\r\n\x1a\n", "{}", p.file_name);
        }
    }

    #[test]
    fn constant_and_bad_input() {
        // A constant prediction has zero range: still drawable.
        assert!(performance_plots(&[3.0, 3.0], &[3.0, 3.0], PlotFormat::Svg).is_ok());
        assert!(matches!(
            performance_plots(&[1.0], &[f64::NAN], PlotFormat::Png),
            Err(TrackingError::PlotData(_))
        ));
    }
}
