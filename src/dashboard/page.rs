//! The HTML page (server-rendered, so it works with scripts disabled), its JSON refresh payload
//! and the login form used when a bearer token protects the page.

use std::fmt::Write as _;

use serde::Serialize;

use super::chart::{self, Axis};
use super::model::{Point, Range, View};
use super::prometheus::distribution_quantile;

/// What the page needs besides the view.
pub(crate) struct PageContext<'a> {
    /// Mount path without a trailing slash (`/dashboard`; empty at the root).
    pub(crate) base: &'a str,
    /// Milliseconds between two refreshes.
    pub(crate) refresh_ms: u64,
    /// Where the data comes from, in words.
    pub(crate) source: &'a str,
}

/// One panel: element id, title, legend entries, and whether it disappears without data.
struct PanelSpec {
    id: &'static str,
    title: &'static str,
    legend: &'static [&'static str],
    optional: bool,
    empty: &'static str,
}

const PANELS: &[PanelSpec] = &[
    PanelSpec {
        id: "chart-requests",
        title: "Requests per minute",
        legend: &["requests/min"],
        optional: false,
        empty: "no requests recorded yet",
    },
    PanelSpec {
        id: "chart-response-time",
        title: "Response time",
        legend: &["average (ms)", "p95 (ms)"],
        optional: false,
        empty: "no requests recorded yet",
    },
    PanelSpec {
        id: "chart-errors",
        title: "Error rate",
        legend: &["5xx responses (%)"],
        optional: false,
        empty: "no requests recorded yet",
    },
    PanelSpec {
        id: "chart-cpu-memory",
        title: "CPU and memory",
        legend: &["CPU (%)", "memory (%)"],
        optional: false,
        empty: "no data: start recwatch's sampler",
    },
    PanelSpec {
        id: "chart-gpu",
        title: "GPU",
        legend: &["GPU utilisation (%)", "GPU memory (%)"],
        optional: true,
        empty: "no GPU",
    },
    PanelSpec {
        id: "chart-inference",
        title: "Inference time distribution",
        legend: &["calls per latency bucket"],
        optional: false,
        empty: "no inference calls in this range",
    },
    PanelSpec {
        id: "chart-quality",
        title: "Recommendation quality score",
        legend: &["quality score"],
        optional: false,
        empty: "no data: recommendation_quality_score is not recorded",
    },
    PanelSpec {
        id: "chart-drift",
        title: "Drift score",
        legend: &["share of drifted features"],
        optional: false,
        empty: "no data: recommendation_drift_score is not recorded",
    },
];

/// The SVG of each panel, `None` without data.
fn charts(view: &View) -> Vec<(&'static str, Option<String>)> {
    let s = &view.series;
    let (a, b) = (view.start, view.end);
    let free = |unit| Axis { max: None, unit };
    let percent = Axis {
        max: Some(100.0),
        unit: "%",
    };
    let lines = |series: &[&[Point]], axis| chart::lines(series, a, b, axis);
    vec![
        ("chart-requests", lines(&[&s.requests_per_min], free(""))),
        (
            "chart-response-time",
            lines(&[&s.latency_avg_ms, &s.latency_p95_ms], free("ms")),
        ),
        ("chart-errors", lines(&[&s.error_rate_percent], free("%"))),
        (
            "chart-cpu-memory",
            lines(&[&s.cpu_percent, &s.memory_percent], percent),
        ),
        (
            "chart-gpu",
            lines(&[&s.gpu_percent, &s.gpu_memory_percent], percent),
        ),
        ("chart-inference", chart::distribution(&view.inference)),
        ("chart-quality", lines(&[&s.quality], free(""))),
        ("chart-drift", lines(&[&s.drift], free(""))),
    ]
}

fn fmt_opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    match v {
        Some(v) if v.is_finite() => f(v),
        _ => "–".into(),
    }
}

/// The key numbers and captions, by element id.
fn texts(view: &View) -> Vec<(&'static str, String)> {
    let n = &view.numbers;
    let p95 = distribution_quantile(&view.inference, 0.95);
    let calls = view.inference.total();
    vec![
        ("kpi-requests", fmt_opt(n.requests_per_min, chart::short)),
        (
            "kpi-response-time",
            fmt_opt(n.avg_response_ms, |v| format!("{v:.1} ms")),
        ),
        (
            "kpi-error-rate",
            fmt_opt(n.error_rate_percent, |v| format!("{v:.2} %")),
        ),
        (
            "kpi-active-users",
            fmt_opt(n.active_users, |v| format!("{v:.0}")),
        ),
        (
            "caption-inference",
            if calls > 0.0 {
                format!(
                    "{} calls in this range, p95 {}",
                    chart::short(calls),
                    fmt_opt(p95, |v| format!("{:.1} ms", v * 1000.0))
                )
            } else {
                String::new()
            },
        ),
        ("notice", view.notice.clone().unwrap_or_default()),
        ("updated", format!("updated {} UTC", clock_hms(view.end))),
    ]
}

fn clock_hms(t: f64) -> String {
    let s = t.rem_euclid(86_400.0) as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// The JSON the page's script refreshes from.
#[derive(Serialize)]
pub(crate) struct Payload<'a> {
    view: &'a View,
    text: serde_json::Map<String, serde_json::Value>,
    panels: serde_json::Map<String, serde_json::Value>,
}

pub(crate) fn payload(view: &View) -> Payload<'_> {
    Payload {
        view,
        text: texts(view)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.into()))
            .collect(),
        panels: charts(view)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.map_or(serde_json::Value::Null, Into::into)))
            .collect(),
    }
}

pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root{--bg:#f4f6f9;--card:#fff;--ink:#1d2430;--muted:#5a626e;--line:#dde2e8;--accent:#1f77b4}
*{box-sizing:border-box}
body{margin:0;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--ink)}
header{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:8px 16px;padding:14px 20px;background:var(--card);border-bottom:1px solid var(--line)}
h1{font-size:19px;margin:0}
.sub{margin:2px 0 0;color:var(--muted);font-size:13px}
nav.range{display:flex;gap:4px}
nav.range a{padding:6px 12px;border:1px solid var(--line);border-radius:6px;color:var(--ink);text-decoration:none;font-weight:600}
nav.range a[aria-current]{background:var(--accent);border-color:var(--accent);color:#fff}
main{padding:16px 20px;max-width:1500px;margin:0 auto}
.notice{background:#fff4e0;border:1px solid #f0c36d;border-radius:6px;padding:8px 12px;margin:0 0 12px}
.notice:empty{display:none}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin-bottom:16px}
.kpi{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.kpi h2{margin:0;font-size:13px;font-weight:600;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
.kpi .value{display:block;font-size:28px;font-weight:700;margin-top:4px;font-variant-numeric:tabular-nums}
.kpi .hint{font-size:12px;color:var(--muted)}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:12px}
.panel{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px;min-width:0}
.panel h2{margin:0 0 4px;font-size:15px}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;color:var(--muted);margin:0 0 4px;padding:0;list-style:none}
.legend i{display:inline-block;width:12px;height:3px;vertical-align:middle;margin-right:5px}
.chart svg{display:block;width:100%;height:auto}
.chart.empty{display:flex;align-items:center;justify-content:center;min-height:120px;color:var(--muted);border:1px dashed var(--line);border-radius:6px}
.caption{font-size:12px;color:var(--muted);margin:4px 0 0}
footer{color:var(--muted);font-size:12px;padding:0 20px 20px;text-align:center}
@media (max-width:520px){header{padding:12px}main{padding:12px}.grid{grid-template-columns:1fr}.kpis{grid-template-columns:1fr 1fr}.kpi .value{font-size:22px}}
"#;

const SCRIPT: &str = r#"
(function(){
  var root=document.getElementById('recwatch-dashboard');
  var url=root.getAttribute('data-json'), every=+root.getAttribute('data-refresh');
  function set(id,text){var e=document.getElementById(id);if(e)e.textContent=text;}
  function tick(){
    fetch(url,{credentials:'same-origin',cache:'no-store'}).then(function(r){
      if(!r.ok)throw new Error('HTTP '+r.status);return r.json();
    }).then(function(d){
      Object.keys(d.text).forEach(function(k){set(k,d.text[k]);});
      Object.keys(d.panels).forEach(function(k){
        var e=document.getElementById(k);if(!e)return;var svg=d.panels[k];
        if(svg){e.innerHTML=svg;e.className='chart';}
        else{e.textContent=e.getAttribute('data-empty');e.className='chart empty';}
        var p=e.closest('.panel');if(p&&p.hasAttribute('data-optional'))p.hidden=!svg;
      });
    }).catch(function(err){set('updated','refresh failed ('+err.message+'), retrying');})
      .then(function(){setTimeout(tick,every);});
  }
  setTimeout(tick,every);
})();
"#;

/// The whole page for one view.
pub(crate) fn page(view: &View, ctx: &PageContext<'_>) -> String {
    let range = view.range;
    let charts = charts(view);
    let texts = texts(view);
    let text = |id: &str| {
        texts
            .iter()
            .find(|(k, _)| *k == id)
            .map(|(_, v)| escape(v))
            .unwrap_or_default()
    };
    let base = escape(ctx.base);
    let page_path = if base.is_empty() {
        "/".to_owned()
    } else {
        base.clone()
    };
    let mut h = String::with_capacity(64 * 1024);
    // Without scripts the page reloads itself, less often than the script refreshes.
    let refresh_s = (ctx.refresh_ms / 1000).max(30);
    let _ = write!(
        h,
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Recommendation service monitoring</title>
<link rel="icon" href="data:,">
<noscript><meta http-equiv="refresh" content="{refresh_s}"></noscript>
<style>{STYLE}</style></head>
<body><div id="recwatch-dashboard" data-json="{base}/data.json?range={range}" data-refresh="{refresh}">
<header><div><h1>Recommendation service monitoring</h1>
<p class="sub">{source} · <span id="updated">{updated}</span></p></div>
<nav class="range" aria-label="Time range">"#,
        refresh = ctx.refresh_ms,
        source = escape(ctx.source),
        updated = text("updated"),
    );
    for r in Range::ALL {
        let current = if r.as_str() == range {
            r#" aria-current="page""#
        } else {
            ""
        };
        let _ = write!(
            h,
            r#"<a href="{page_path}?range={r}"{current}>{r}</a>"#,
            r = r.as_str()
        );
    }
    let _ = write!(
        h,
        r#"</nav></header>
<main><p class="notice" id="notice" role="status">{notice}</p>
<section class="kpis" aria-label="Key numbers">"#,
        notice = text("notice")
    );
    for (id, title, hint) in [
        ("kpi-requests", "Requests / min", "last 5 minutes"),
        ("kpi-response-time", "Avg response time", "last 5 minutes"),
        ("kpi-error-rate", "Error rate", "5xx, last 5 minutes"),
        (
            "kpi-active-users",
            "Active users",
            "distinct, sliding window",
        ),
    ] {
        let _ = write!(
            h,
            r#"<div class="kpi"><h2>{title}</h2><span class="value" id="{id}">{value}</span><span class="hint">{hint}</span></div>"#,
            value = text(id)
        );
    }
    h.push_str("</section>\n<section class=\"grid\" aria-label=\"Charts\">\n");
    for p in PANELS {
        let svg = charts
            .iter()
            .find(|(id, _)| *id == p.id)
            .and_then(|(_, s)| s.as_deref());
        let hidden = if p.optional && svg.is_none() {
            " hidden"
        } else {
            ""
        };
        let optional = if p.optional { " data-optional" } else { "" };
        let _ = write!(
            h,
            r#"<section class="panel"{optional}{hidden}><h2>{title}</h2><ul class="legend">"#,
            title = p.title
        );
        for (i, entry) in p.legend.iter().enumerate() {
            let _ = write!(
                h,
                r#"<li><i style="background:{}"></i>{entry}</li>"#,
                chart::hex(i)
            );
        }
        h.push_str("</ul>");
        match svg {
            Some(svg) => {
                let _ = write!(
                    h,
                    r#"<div class="chart" id="{id}" data-empty="{empty}">{svg}</div>"#,
                    id = p.id,
                    empty = p.empty
                );
            }
            None => {
                let _ = write!(
                    h,
                    r#"<div class="chart empty" id="{id}" data-empty="{empty}">{empty}</div>"#,
                    id = p.id,
                    empty = p.empty
                );
            }
        }
        if p.id == "chart-inference" {
            let _ = write!(
                h,
                r#"<p class="caption" id="caption-inference">{}</p>"#,
                text("caption-inference")
            );
        }
        h.push_str("</section>\n");
    }
    let _ = write!(
        h,
        r#"</section></main>
<footer>Served by recwatch from inside the service. Times in UTC.</footer>
</div><script>{SCRIPT}</script></body></html>
"#
    );
    h
}

/// The form shown when a bearer token protects the page and the browser has none.
pub(crate) fn login(base: &str, wrong: bool) -> String {
    let base = escape(base);
    let message = if wrong {
        r#"<p class="notice">That token is not valid.</p>"#
    } else {
        ""
    };
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Recommendation service monitoring: sign in</title><link rel="icon" href="data:,">
<style>{STYLE}</style></head><body><main>
<h1>Recommendation service monitoring</h1>{message}
<form method="post" action="{base}/login" class="panel">
<p><label>Access token <input type="password" name="token" autocomplete="current-password" required></label></p>
<p><button type="submit">Open the dashboard</button></p></form>
<p class="sub">Scripts and tools can send <code>Authorization: Bearer &lt;token&gt;</code> instead.</p>
</main></body></html>
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::model::{Distribution, Numbers, Series};

    fn view() -> View {
        let pts =
            |v: f64| -> Vec<Point> { (0..10).map(|i| (f64::from(i) * 5.0, Some(v))).collect() };
        View {
            source: "embedded",
            range: "15m",
            start: 0.0,
            end: 45.0,
            step: 5.0,
            notice: Some("<b>careful</b>".into()),
            numbers: Numbers {
                requests_per_min: Some(1200.0),
                avg_response_ms: Some(12.34),
                error_rate_percent: Some(0.5),
                active_users: Some(42.0),
            },
            series: Series {
                requests_per_min: pts(1200.0),
                latency_avg_ms: pts(12.0),
                latency_p95_ms: pts(30.0),
                error_rate_percent: pts(0.5),
                cpu_percent: pts(20.0),
                memory_percent: pts(40.0),
                ..Series::default()
            },
            inference: Distribution {
                upper: vec![Some(0.005), Some(0.01), None],
                counts: vec![10.0, 3.0, 0.0],
            },
        }
    }

    #[test]
    fn page_names_every_panel_draws_charts_and_escapes() {
        let html = page(
            &view(),
            &PageContext {
                base: "/dashboard",
                refresh_ms: 5000,
                source: "this process",
            },
        );
        for name in [
            "Requests / min",
            "Avg response time",
            "Error rate",
            "Active users",
            "CPU and memory",
            "Recommendation quality score",
            "Inference time distribution",
            "Drift score",
        ] {
            assert!(html.contains(name), "{name}");
        }
        assert_eq!(html.matches("<svg").count(), 5);
        assert!(html.contains("&lt;b&gt;careful"));
        assert!(!html.contains("<b>careful"));
        assert!(html.contains(r#"href="/dashboard?range=1h""#));
        assert!(html.contains(r#"<a href="/dashboard?range=15m" aria-current="page">"#));
        assert!(html.contains(">1.2k<") && html.contains("12.3 ms") && html.contains("0.50 %"));
        assert!(html.contains("no data: recommendation_quality_score is not recorded"));
        // The GPU panel is hidden without GPU data.
        assert!(html.contains("<section class=\"panel\" data-optional hidden><h2>GPU"));
        // Nothing is loaded from anywhere: no src, no external href.
        assert!(!html.contains(" src="));
        assert!(!html.contains("href=\"http"));
        let json = serde_json::to_value(payload(&view())).unwrap();
        assert!(json["panels"]["chart-requests"]
            .as_str()
            .unwrap()
            .starts_with("<svg"));
        assert!(json["panels"]["chart-quality"].is_null());
        assert_eq!(json["view"]["numbers"]["requests_per_min"], 1200.0);
        assert_eq!(json["text"]["kpi-active-users"], "42");
    }

    #[test]
    fn login_form_posts_to_the_mount_path() {
        let html = login("/ops/dash", true);
        assert!(html.contains(r#"action="/ops/dash/login""#));
        assert!(html.contains("not valid"));
    }
}
