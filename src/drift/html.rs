//! The HTML report: one self-contained file (inline CSS, inline SVG charts drawn with
//! plotters), nothing fetched from the network. Its size depends on the number of columns,
//! not rows: each chart has at most 21 bins.

use super::quality::TestStatus;
use super::report::{ColumnDrift, ColumnStatus, Distribution, DriftReport};
use super::DriftError;
use plotters::prelude::*;
use std::fmt::Write as _;
use std::path::Path;

const REF_COLOR: RGBColor = RGBColor(70, 130, 180);
const CUR_COLOR: RGBColor = RGBColor(230, 126, 34);
const W: i32 = 320;
const H: i32 = 110;

/// Escapes text for HTML (column names and categories are data).
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The overlaid reference/current bars of one distribution, as an SVG element.
fn chart(d: &Distribution) -> String {
    let mut svg = String::new();
    let n = d.bins.len().max(1) as i32;
    let max = d
        .reference
        .iter()
        .chain(&d.current)
        .copied()
        .fold(0.0f64, f64::max)
        .max(1e-12);
    let drawn = (|| -> Result<(), Box<dyn std::error::Error>> {
        let root = SVGBackend::with_string(&mut svg, (W as u32, H as u32)).into_drawing_area();
        root.fill(&WHITE)?;
        let bw = (W - 4) / n;
        let y = |v: f64| H - 2 - ((H - 6) as f64 * v / max).round() as i32;
        for (i, (r, c)) in d.reference.iter().zip(&d.current).enumerate() {
            let x0 = 2 + i as i32 * bw;
            root.draw(&Rectangle::new(
                [(x0, y(*r)), (x0 + bw - 1, H - 2)],
                REF_COLOR.mix(0.55).filled(),
            ))?;
            let inset = (bw / 4).max(1);
            root.draw(&Rectangle::new(
                [(x0 + inset, y(*c)), (x0 + bw - 1 - inset, H - 2)],
                CUR_COLOR.mix(0.85).filled(),
            ))?;
        }
        root.draw(&PathElement::new(
            vec![(0, H - 2), (W, H - 2)],
            BLACK.stroke_width(1),
        ))?;
        root.present()?;
        Ok(())
    })();
    match drawn {
        Ok(()) => {
            // Hover text per bin: the SVG has no text (no font is needed); the bins are listed
            // in the title.
            let title: String = d
                .bins
                .iter()
                .zip(d.reference.iter().zip(&d.current))
                .map(|(b, (r, c))| {
                    format!(
                        "{b}: reference {:.1} %, current {:.1} %\n",
                        r * 100.0,
                        c * 100.0
                    )
                })
                .collect();
            format!(
                "<figure class=\"chart\" title=\"{}\">{}<figcaption>{} … {}</figcaption></figure>",
                esc(&title),
                svg,
                esc(d.bins.first().map(String::as_str).unwrap_or("")),
                esc(d.bins.last().map(String::as_str).unwrap_or(""))
            )
        }
        Err(_) => "<p class=\"muted\">chart unavailable</p>".into(),
    }
}

fn num(v: Option<f64>) -> String {
    match v {
        Some(x) if x != 0.0 && x.abs() < 1e-4 => format!("{x:.3e}"),
        Some(x) => format!("{x:.4}"),
        None => "–".into(),
    }
}

fn column_row(out: &mut String, c: &ColumnDrift) {
    let verdict = match c.status {
        ColumnStatus::Ok if c.drift_detected => "<span class=\"bad\">drift</span>".to_string(),
        ColumnStatus::Ok => "<span class=\"good\">no drift</span>".to_string(),
        _ => format!(
            "<span class=\"muted\">skipped: {}</span>",
            esc(c.reason.as_deref().unwrap_or(""))
        ),
    };
    let chart = c
        .distribution
        .as_ref()
        .map(chart)
        .unwrap_or_else(|| "<p class=\"muted\">no distribution recorded</p>".into());
    let _ = writeln!(
        out,
        "<tr><td><b>{}</b></td><td>{:?}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
         <td>{:.1} % / {:.1} %</td><td>{}</td></tr>",
        esc(&c.column_name),
        c.column_type,
        esc(c.stattest_name.as_deref().unwrap_or("–")),
        num(c.drift_score),
        num(c.stattest_threshold),
        verdict,
        c.null_share_reference * 100.0,
        c.null_share_current * 100.0,
        chart
    );
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;\
margin:2rem;color:#222}h1{margin-bottom:.2rem}table{border-collapse:collapse;margin:1rem 0}\
td,th{border-bottom:1px solid #ddd;padding:.35rem .6rem;text-align:left;vertical-align:middle}\
th{background:#f4f4f4}.bad{color:#c0392b;font-weight:600}.good{color:#1e8449}.muted{color:#888}\
.verdict{font-size:1.3rem;padding:.6rem 1rem;border-radius:6px;display:inline-block}\
.verdict.bad{background:#fdecea}.verdict.good{background:#e9f7ef}figure{margin:0}\
figcaption{font-size:.75rem;color:#666}.legend span{display:inline-block;width:.8rem;\
height:.8rem;margin:0 .3rem 0 1rem;vertical-align:middle}";

impl DriftReport {
    /// The report as one self-contained HTML page: the headline verdict; per column its type,
    /// test, score, threshold, verdict, null shares and an overlaid reference/current chart on
    /// shared bins (when the detector recorded distributions, see
    /// [`DriftDetector::with_distributions`](super::DriftDetector::with_distributions));
    /// target and prediction; schema changes; the data-quality tests. Inline CSS and SVG, no
    /// script, nothing fetched.
    ///
    /// ```
    /// use polars::prelude::*;
    /// use recwatch::drift::DriftDetector;
    /// let a = df!("x" => (0..100).map(f64::from).collect::<Vec<_>>())?;
    /// let report = DriftDetector::new().with_distributions(true).run(&a, &a)?;
    /// let html = report.to_html();
    /// assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<svg"));
    /// assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("href="));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_html(&self) -> String {
        let mut o = String::new();
        o.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        o.push_str("<title>recwatch drift report</title><style>");
        o.push_str(STYLE);
        o.push_str("</style></head><body>\n<h1>Data drift report</h1>\n");
        let (cls, word) = if self.dataset_drift {
            ("bad", "Dataset drift detected")
        } else {
            ("good", "No dataset drift")
        };
        let _ = writeln!(
            o,
            "<p class=\"verdict {cls}\">{word}: {} of {} columns drifted (share {:.3}, threshold {})</p>",
            self.number_of_drifted_columns,
            self.number_of_columns,
            self.share_of_drifted_columns,
            self.drift_share
        );
        o.push_str(
            "<p class=\"legend\"><span style=\"background:rgb(70,130,180)\"></span>reference\
<span style=\"background:rgb(230,126,34)\"></span>current</p>\n",
        );
        let header = "<table><tr><th>column</th><th>type</th><th>test</th><th>score</th>\
<th>threshold</th><th>verdict</th><th>null share ref / cur</th><th>distribution</th></tr>\n";
        let roles: Vec<(&str, &ColumnDrift)> = [
            ("Target", self.target_drift.as_ref()),
            ("Prediction", self.prediction_drift.as_ref()),
        ]
        .into_iter()
        .filter_map(|(r, c)| c.map(|c| (r, c)))
        .collect();
        if !roles.is_empty() {
            o.push_str("<h2>Target and prediction</h2>\n");
            o.push_str(header);
            for (_, c) in &roles {
                column_row(&mut o, c);
            }
            o.push_str("</table>\n");
        }
        o.push_str("<h2>Features</h2>\n");
        o.push_str(header);
        for c in self.drift_by_columns.values() {
            column_row(&mut o, c);
        }
        o.push_str("</table>\n<h2>Schema changes</h2>\n");
        let s = &self.schema;
        if s.missing_in_current.is_empty()
            && s.new_in_current.is_empty()
            && s.type_changed.is_empty()
        {
            o.push_str("<p class=\"muted\">none</p>\n");
        } else {
            o.push_str("<table>");
            for (what, cols) in [
                ("missing in current", &s.missing_in_current),
                ("new in current", &s.new_in_current),
                ("type changed", &s.type_changed),
            ] {
                let list: Vec<String> = cols.iter().map(|c| esc(c)).collect();
                let _ = writeln!(o, "<tr><th>{what}</th><td>{}</td></tr>", list.join(", "));
            }
            o.push_str("</table>\n");
        }
        if !self.tests.is_empty() {
            o.push_str(
                "<h2>Data quality</h2>\n<table><tr><th>test</th><th>status</th>\
<th>value</th><th>description</th></tr>\n",
            );
            for t in &self.tests {
                let cls = match t.status {
                    TestStatus::Success => "good",
                    TestStatus::Fail => "bad",
                    _ => "muted",
                };
                let status = format!("{:?}", t.status).to_uppercase();
                let _ = writeln!(
                    o,
                    "<tr><td>{}</td><td class=\"{cls}\">{status}</td><td>{}</td><td>{}</td></tr>",
                    esc(&t.test),
                    num(t.value),
                    esc(&t.description)
                );
            }
            o.push_str("</table>\n");
        }
        o.push_str("<p class=\"muted\">Generated by recwatch.</p>\n</body></html>\n");
        o
    }

    /// Writes [`to_html`](Self::to_html) to a file.
    ///
    /// # Errors
    ///
    /// [`DriftError::Write`] when the file cannot be written.
    ///
    /// ```no_run
    /// # use recwatch::drift::DriftReport;
    /// # fn f(report: &DriftReport) -> Result<(), recwatch::drift::DriftError> {
    /// report.write_html("drift.html")?;
    /// # Ok(()) }
    /// ```
    pub fn write_html(&self, path: impl AsRef<Path>) -> Result<(), DriftError> {
        let path = path.as_ref();
        std::fs::write(path, self.to_html()).map_err(|source| DriftError::Write {
            path: path.to_path_buf(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_data() {
        assert_eq!(esc("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
    }

    #[test]
    fn chart_is_svg_without_text() {
        let d = Distribution {
            bins: vec!["a".into(), "b".into()],
            reference: vec![0.5, 0.5],
            current: vec![0.2, 0.8],
        };
        let c = chart(&d);
        assert!(c.contains("<svg") && c.contains("<rect"), "{c}");
    }
}
