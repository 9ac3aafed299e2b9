//! Server-drawn SVG charts (plotters' SVG backend: no fonts, no scripts, no external assets).

use plotters::prelude::*;

use super::model::{Distribution, Point};

/// Drawing size in SVG user units; the page scales it to the panel's width.
const SIZE: (u32, u32) = (480, 220);
const FONT: &str = "sans-serif";
const GRID: RGBColor = RGBColor(226, 230, 236);
const AXIS: RGBColor = RGBColor(90, 98, 110);

/// Line colours, in series order (colour-blind safe: blue, orange, green, purple).
pub(crate) const COLOURS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(230, 126, 34),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

/// The `#rrggbb` of a series colour, for the HTML legend.
pub(crate) fn hex(i: usize) -> String {
    let RGBColor(r, g, b) = COLOURS[i % COLOURS.len()];
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Whether plotters can measure text. With the `tracking` feature plotters lays text out with
/// ab_glyph, which needs a registered font: a system sans-serif font is registered under the
/// family the SVG names (the browser still draws the text with its own fonts). Without one, charts
/// are drawn without tick labels rather than not at all.
#[cfg(feature = "tracking")]
fn text() -> bool {
    static FOUND: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FOUND.get_or_init(|| {
        let env = std::env::var_os("RECWATCH_PLOT_FONT").map(std::path::PathBuf::from);
        let system = [
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/TTF/DejaVuSans.ttf",
            "/usr/share/fonts/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        ]
        .map(std::path::PathBuf::from);
        env.into_iter().chain(system).any(|path| {
            std::fs::read(path).is_ok_and(|bytes| {
                // Registered once per process; the font lives as long as the process.
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                plotters::style::register_font(FONT, plotters::style::FontStyle::Normal, bytes)
                    .is_ok()
            })
        })
    })
}

/// Whether plotters can measure text: always, with its built-in estimate.
#[cfg(not(feature = "tracking"))]
fn text() -> bool {
    true
}

/// How a line chart's values are scaled and labelled.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Axis {
    /// Fixed maximum (percent charts use 100); `None` scales to the data.
    pub(crate) max: Option<f64>,
    /// Unit appended to tick labels (`ms`, `%`, or empty).
    pub(crate) unit: &'static str,
}

/// `HH:MM` (UTC) of a unix time, with seconds when the axis spans under ten minutes.
fn clock(t: f64, span: f64) -> String {
    let secs = t.rem_euclid(86_400.0) as u64;
    if span < 600.0 {
        format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    } else {
        format!("{:02}:{:02}", secs / 3600, secs / 60 % 60)
    }
}

/// A short number: `1234` → `1.2k`, `0.5` → `0.5`.
pub(crate) fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 10.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Consecutive runs of points that have a value: a gap in the data is a gap in the line.
fn runs(points: &[Point]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current = Vec::new();
    for &(t, v) in points {
        match v {
            Some(v) if v.is_finite() => current.push((t, v)),
            _ if !current.is_empty() => out.push(std::mem::take(&mut current)),
            _ => {}
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Whether any series has a value to draw.
pub(crate) fn has_data(series: &[&[Point]]) -> bool {
    series
        .iter()
        .any(|s| s.iter().any(|p| p.1.is_some_and(f64::is_finite)))
}

/// A time-series line chart over `[start, end]`, or `None` when no series has data.
pub(crate) fn lines(series: &[&[Point]], start: f64, end: f64, axis: Axis) -> Option<String> {
    if !(has_data(series) && start.is_finite() && end.is_finite()) {
        return None;
    }
    // A single sample still gets an axis of some width.
    let end = if end > start { end } else { start + 1.0 };
    let data_max = series
        .iter()
        .flat_map(|s| s.iter().filter_map(|p| p.1))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let top = axis
        .max
        .unwrap_or(if data_max > 0.0 { data_max * 1.15 } else { 1.0 });
    let mut svg = String::new();
    let drawn: Result<(), Box<dyn std::error::Error>> = (|| {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(26)
            .y_label_area_size(52)
            .build_cartesian_2d(start..end, 0.0..top)?;
        let unit = axis.unit;
        chart
            .configure_mesh()
            .x_labels(if !text() {
                0
            } else if end - start < 600.0 {
                4
            } else {
                5
            })
            .y_labels(if text() { 5 } else { 0 })
            .x_label_formatter(&|t| clock(*t, end - start))
            .y_label_formatter(&|v| format!("{}{unit}", short(*v)))
            .label_style((FONT, 16).into_font().color(&AXIS))
            .axis_style(AXIS)
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .draw()?;
        for (i, s) in series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            for run in runs(s) {
                if run.len() == 1 {
                    chart.draw_series(std::iter::once(Circle::new(run[0], 3, colour.filled())))?;
                } else {
                    chart.draw_series(LineSeries::new(run, colour.stroke_width(2)))?;
                }
            }
        }
        root.present()?;
        Ok(())
    })();
    drawn.ok().map(|()| svg)
}

fn seconds(u: f64) -> String {
    let round = |v: f64| (v * 1000.0).round() / 1000.0;
    if u < 1.0 {
        format!("{}ms", round(u * 1000.0))
    } else {
        format!("{}s", round(u))
    }
}

/// `≤25ms` for a bucket, `>120s` for the overflow bucket after the highest bound.
fn bucket_label(upper: Option<f64>, highest: Option<f64>) -> String {
    match (upper, highest) {
        (Some(u), _) => format!("≤{}", seconds(u)),
        (None, Some(h)) => format!(">{}", seconds(h)),
        (None, None) => "all".into(),
    }
}

/// A bar chart of calls per latency bucket, trimmed to the buckets that hold calls, or `None`
/// without calls.
pub(crate) fn distribution(d: &Distribution) -> Option<String> {
    let first = d.counts.iter().position(|c| *c > 0.0)?;
    let last = d.counts.iter().rposition(|c| *c > 0.0)?;
    // One empty bucket either side, for context.
    let lo = first.saturating_sub(1);
    let hi = (last + 1).min(d.counts.len() - 1);
    let bars: Vec<(String, f64)> = (lo..=hi)
        .map(|i| {
            let highest = d.upper.iter().rev().find_map(|u| *u);
            (bucket_label(d.upper[i], highest), d.counts[i])
        })
        .collect();
    let top = bars.iter().map(|b| b.1).fold(0.0f64, f64::max) * 1.15;
    let n = bars.len();
    let mut svg = String::new();
    let drawn: Result<(), Box<dyn std::error::Error>> = (|| {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(26)
            .y_label_area_size(52)
            // Ticks fall on integers: bar `i` is centred on `i`.
            .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..top.max(1.0))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(if text() { n + 1 } else { 0 })
            .y_labels(if text() { 5 } else { 0 })
            .x_label_formatter(&|x| {
                let i = x.round();
                match bars.get(i as usize) {
                    Some((label, _)) if (x - i).abs() < 1e-6 && i >= 0.0 => label.clone(),
                    _ => String::new(),
                }
            })
            .y_label_formatter(&|v| short(*v))
            .label_style((FONT, 13).into_font().color(&AXIS))
            .axis_style(AXIS)
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .draw()?;
        chart.draw_series(bars.iter().enumerate().map(|(i, (_, c))| {
            Rectangle::new(
                [(i as f64 - 0.38, 0.0), (i as f64 + 0.38, *c)],
                COLOURS[0].filled(),
            )
        }))?;
        root.present()?;
        Ok(())
    })();
    drawn.ok().map(|()| svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_chart_is_an_svg_with_a_path_per_run() {
        let a: Vec<Point> = vec![
            (0.0, Some(1.0)),
            (5.0, Some(2.0)),
            (10.0, None),
            (15.0, Some(3.0)),
            (20.0, Some(2.0)),
        ];
        let svg = lines(
            &[&a],
            0.0,
            20.0,
            Axis {
                max: None,
                unit: "ms",
            },
        )
        .unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("viewBox=\"0 0 480 220\""), "{svg}");
        // Two runs of the series colour (the gap splits the line); axes are grey.
        assert_eq!(svg.matches("stroke=\"#1F77B4\"").count(), 2, "{svg}");
        // The only URL is the SVG namespace (an identifier, never fetched).
        assert_eq!(svg.matches("http").count(), 1, "{svg}");
        assert!(lines(
            &[&[(0.0, None)][..]],
            0.0,
            1.0,
            Axis {
                max: None,
                unit: ""
            }
        )
        .is_none());
        // One point on an axis of no width: drawn, no panic.
        let one: Vec<Point> = vec![(5.0, Some(1.0))];
        let axis = Axis {
            max: None,
            unit: "",
        };
        assert!(lines(&[&one], 5.0, 5.0, axis).is_some());
        assert!(lines(&[&one], f64::NAN, 5.0, axis).is_none());
    }

    #[test]
    fn distribution_trims_to_the_used_buckets() {
        let d = Distribution {
            upper: vec![Some(0.005), Some(0.01), Some(0.025), Some(0.05), None],
            counts: vec![0.0, 0.0, 7.0, 2.0, 0.0],
        };
        let svg = distribution(&d).unwrap();
        assert!(svg.contains("≤25ms"), "{svg}");
        assert!(!svg.contains("≤5ms"), "{svg}");
        // Bars for 10ms (empty, context), 25ms, 50ms and +Inf (empty, context).
        assert_eq!(svg.matches("fill=\"#1F77B4\"").count(), 4, "{svg}");
        assert!(svg.contains("≤50ms") && svg.contains("&gt;50ms"), "{svg}");
        assert!(distribution(&Distribution::default()).is_none());
        assert_eq!(short(1234.0), "1.2k");
        assert_eq!(clock(3600.0 * 25.0 + 61.0, 3600.0), "01:01");
        assert_eq!(clock(3600.0 * 25.0 + 61.0, 60.0), "01:01:01");
    }
}
