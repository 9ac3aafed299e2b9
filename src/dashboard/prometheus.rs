//! Prometheus mode: the same view from Prometheus's HTTP API (`query_range` for trends, `query`
//! for the key numbers and the inference distribution), summed across replicas before any
//! division so that every ratio is the fleet's, not an average of per-replica ratios.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use tokio::task::JoinSet;

use super::model::{quantile, Distribution, Numbers, Point, Range, Series, View, POINTS};
use super::series::{DRIFT_SCORE, QUALITY_SCORE};
use crate::catalogue::{
    ACTIVE_USERS, GPU_MEMORY_USAGE_PERCENT, GPU_USAGE_PERCENT, INFERENCE_DURATION_SECONDS,
    REQUESTS_TOTAL, REQUEST_DURATION_SECONDS, SYSTEM_CPU_USAGE_PERCENT,
    SYSTEM_MEMORY_USAGE_PERCENT,
};

/// Why a Prometheus query gave no data.
#[derive(Debug, thiserror::Error)]
pub(crate) enum QueryError {
    /// The request could not be sent or its body not read.
    #[error("request to Prometheus failed")]
    Request(#[source] reqwest::Error),
    /// Prometheus answered with a non-success status.
    #[error("Prometheus answered HTTP {status}: {error}")]
    Status {
        /// HTTP status.
        status: u16,
        /// Prometheus's `error` field, if any.
        error: String,
    },
    /// The body was not the JSON Prometheus documents.
    #[error("Prometheus's answer is not valid JSON")]
    Body(#[source] serde_json::Error),
    /// A background query task failed.
    #[error("a query task did not complete")]
    Task(#[source] tokio::task::JoinError),
}

/// One series of a query result: its labels (only `le` is kept) and its points.
#[derive(Debug, Default)]
struct Result1 {
    le: Option<String>,
    values: Vec<(f64, Option<f64>)>,
}

/// A Prometheus HTTP API client for the dashboard's queries.
#[derive(Clone, Debug)]
pub(crate) struct Prometheus {
    client: reqwest::Client,
    /// Base URL, ending in `/`.
    base: Url,
    token: Option<Arc<str>>,
    /// Label matchers added to every selector (`job="recs"`), without braces.
    selector: Option<Arc<str>>,
}

fn parse_value(v: &serde_json::Value) -> Option<f64> {
    v.as_str()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|v| v.is_finite())
}

fn parse_point(p: &serde_json::Value) -> Option<(f64, Option<f64>)> {
    let t = p.get(0)?.as_f64()?;
    Some((t, p.get(1).and_then(parse_value)))
}

fn parse_results(body: &serde_json::Value) -> Vec<Result1> {
    let results = body
        .pointer("/data/result")
        .and_then(|r| r.as_array())
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    results
        .iter()
        .map(|r| Result1 {
            le: r
                .pointer("/metric/le")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            values: match r.get("values").and_then(|v| v.as_array()) {
                Some(values) => values.iter().filter_map(parse_point).collect(),
                None => r.get("value").and_then(parse_point).into_iter().collect(),
            },
        })
        .collect()
}

/// One query of a view.
#[derive(Clone, Copy, Debug)]
enum Q {
    Rpm,
    ErrorRate,
    LatencyAvg,
    LatencyP95,
    InferenceP95,
    Cpu,
    Memory,
    Gpu,
    GpuMemory,
    Quality,
    Drift,
    NowRpm,
    NowErrorRate,
    NowLatencyAvg,
    NowUsers,
    Distribution,
}

impl Q {
    const RANGE: [Q; 11] = [
        Q::Rpm,
        Q::ErrorRate,
        Q::LatencyAvg,
        Q::LatencyP95,
        Q::InferenceP95,
        Q::Cpu,
        Q::Memory,
        Q::Gpu,
        Q::GpuMemory,
        Q::Quality,
        Q::Drift,
    ];
    const INSTANT: [Q; 5] = [
        Q::NowRpm,
        Q::NowErrorRate,
        Q::NowLatencyAvg,
        Q::NowUsers,
        Q::Distribution,
    ];
}

impl Prometheus {
    pub(crate) fn new(
        base: Url,
        token: Option<Arc<str>>,
        selector: Option<Arc<str>>,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(Self {
            client,
            base,
            token,
            selector,
        })
    }

    pub(crate) fn base(&self) -> &Url {
        &self.base
    }

    /// `name{matchers}` with the configured selector added.
    fn sel(&self, name: &str, matchers: &str) -> String {
        let parts: Vec<&str> = [matchers, self.selector.as_deref().unwrap_or("")]
            .into_iter()
            .filter(|m| !m.is_empty())
            .collect();
        if parts.is_empty() {
            name.to_owned()
        } else {
            format!("{name}{{{}}}", parts.join(","))
        }
    }

    /// The PromQL of one query; `w` is the rate window, `range` the whole range.
    fn promql(&self, q: Q, w: &str, range: &str) -> String {
        let req = REQUESTS_TOTAL.name;
        let dur = REQUEST_DURATION_SECONDS.name;
        let inf = INFERENCE_DURATION_SECONDS.name;
        let rpm = |w: &str| format!("sum(rate({}[{w}])) * 60", self.sel(req, ""));
        let err = |w: &str| {
            format!(
                "100 * sum(rate({}[{w}])) / sum(rate({}[{w}]))",
                self.sel(req, r#"status=~"5..""#),
                self.sel(req, "")
            )
        };
        let avg = |w: &str| {
            format!(
                "1000 * sum(rate({}[{w}])) / sum(rate({}[{w}]))",
                self.sel(&format!("{dur}_sum"), ""),
                self.sel(&format!("{dur}_count"), "")
            )
        };
        let p95 = |name: &str| {
            format!(
                "1000 * histogram_quantile(0.95, sum by (le) (rate({}[{w}])))",
                self.sel(&format!("{name}_bucket"), "")
            )
        };
        let avg_of = |name: &str| format!("avg({})", self.sel(name, ""));
        match q {
            Q::Rpm => rpm(w),
            Q::ErrorRate => err(w),
            Q::LatencyAvg => avg(w),
            Q::LatencyP95 => p95(dur),
            Q::InferenceP95 => p95(inf),
            Q::Cpu => avg_of(SYSTEM_CPU_USAGE_PERCENT.name),
            Q::Memory => avg_of(SYSTEM_MEMORY_USAGE_PERCENT.name),
            Q::Gpu => avg_of(GPU_USAGE_PERCENT.name),
            Q::GpuMemory => avg_of(GPU_MEMORY_USAGE_PERCENT.name),
            Q::Quality => avg_of(QUALITY_SCORE),
            Q::Drift => format!("max({})", self.sel(DRIFT_SCORE, "")),
            Q::NowRpm => rpm("5m"),
            Q::NowErrorRate => err("5m"),
            Q::NowLatencyAvg => avg("5m"),
            // Distinct users per replica, summed: an upper bound when users hit several replicas.
            Q::NowUsers => format!("sum({})", self.sel(ACTIVE_USERS.name, "")),
            Q::Distribution => format!(
                "sum by (le) (increase({}[{range}]))",
                self.sel(&format!("{inf}_bucket"), "")
            ),
        }
    }

    async fn get(&self, path: &str, params: &[(&str, String)]) -> Result<Vec<Result1>, QueryError> {
        let mut url = self.base.clone();
        url.set_path(&format!("{}{path}", self.base.path()));
        url.query_pairs_mut()
            .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
        let mut req = self.client.get(url);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.map_err(QueryError::Request)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(QueryError::Request)?;
        let body: serde_json::Value = serde_json::from_slice(&bytes).map_err(QueryError::Body)?;
        if !status.is_success() || body.get("status").and_then(|s| s.as_str()) != Some("success") {
            return Err(QueryError::Status {
                status: status.as_u16(),
                error: body
                    .get("error")
                    .and_then(|e| e.as_str())
                    .unwrap_or("")
                    .chars()
                    .take(200)
                    .collect(),
            });
        }
        Ok(parse_results(&body))
    }

    /// The view over `range` ending at `now` (unix seconds).
    pub(crate) async fn view(&self, range: Range, now: f64) -> Result<View, QueryError> {
        let secs = range.secs();
        let step = (secs / POINTS as u64).max(1);
        let end = now.floor();
        let start = end - secs as f64;
        // At least four 15 s scrapes per rate window, and no gaps between points.
        let w = format!("{}s", (2 * step).max(60));
        let whole = format!("{secs}s");
        let mut tasks = JoinSet::new();
        for (i, q) in Q::RANGE.into_iter().enumerate() {
            let this = self.clone();
            let query = self.promql(q, &w, &whole);
            tasks.spawn(async move {
                let params = [
                    ("query", query),
                    ("start", format!("{start}")),
                    ("end", format!("{end}")),
                    ("step", format!("{step}")),
                ];
                (i, this.get("api/v1/query_range", &params).await)
            });
        }
        for (i, q) in Q::INSTANT.into_iter().enumerate() {
            let this = self.clone();
            let query = self.promql(q, &w, &whole);
            tasks.spawn(async move {
                let params = [("query", query), ("time", format!("{end}"))];
                (Q::RANGE.len() + i, this.get("api/v1/query", &params).await)
            });
        }
        let mut results: Vec<Vec<Result1>> = (0..Q::RANGE.len() + Q::INSTANT.len())
            .map(|_| Vec::new())
            .collect();
        while let Some(joined) = tasks.join_next().await {
            let (i, r) = joined.map_err(QueryError::Task)?;
            results[i] = r?;
        }
        let mut take = |i: usize| std::mem::take(&mut results[i]);
        let mut trend = |i: usize| -> Vec<Point> {
            let r = take(i);
            fill(
                r.into_iter().next().map(|r| r.values).unwrap_or_default(),
                start,
                end,
                step,
            )
        };
        let mut series = Series {
            requests_per_min: trend(0),
            error_rate_percent: trend(1),
            latency_avg_ms: trend(2),
            latency_p95_ms: trend(3),
            inference_p95_ms: trend(4),
            cpu_percent: trend(5),
            memory_percent: trend(6),
            gpu_percent: trend(7),
            gpu_memory_percent: trend(8),
            quality: trend(9),
            drift: trend(10),
        };
        // No GPU series at all: nothing to chart.
        if series.gpu_percent.iter().all(|p| p.1.is_none()) {
            series.gpu_percent.clear();
            series.gpu_memory_percent.clear();
        }
        let base = Q::RANGE.len();
        let mut scalar = |i: usize| {
            take(base + i)
                .into_iter()
                .next()
                .and_then(|r| r.values.first().and_then(|p| p.1))
        };
        let numbers = Numbers {
            requests_per_min: scalar(0),
            error_rate_percent: scalar(1),
            avg_response_ms: scalar(2),
            active_users: scalar(3),
        };
        let inference = distribution(take(base + 4));
        Ok(View {
            source: "prometheus",
            range: range.as_str(),
            start,
            end,
            step: step as f64,
            notice: None,
            numbers,
            series,
            inference,
        })
    }
}

/// The range's points at every step, `None` where Prometheus returned nothing.
fn fill(values: Vec<(f64, Option<f64>)>, start: f64, end: f64, step: u64) -> Vec<Point> {
    let step = step as f64;
    let mut out = Vec::with_capacity(POINTS + 1);
    let mut it = values.into_iter().peekable();
    let mut t = start;
    while t <= end {
        while it.peek().is_some_and(|p| p.0 < t - step / 2.0) {
            it.next();
        }
        let v = match it.peek() {
            Some(p) if (p.0 - t).abs() <= step / 2.0 => it.next().and_then(|p| p.1),
            _ => None,
        };
        out.push((t, v));
        t += step;
    }
    out
}

/// Cumulative `le` buckets (from `sum by (le)`) to per-bucket counts.
fn distribution(results: Vec<Result1>) -> Distribution {
    let mut buckets: Vec<(f64, f64)> = results
        .into_iter()
        .filter_map(|r| {
            let le = r.le?.parse::<f64>().ok()?;
            let v = r.values.first().and_then(|p| p.1)?;
            Some((le, v))
        })
        .filter(|(le, _)| !le.is_nan())
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out = Distribution::default();
    let mut below = 0.0;
    for (le, cumulative) in buckets {
        out.upper.push(le.is_finite().then_some(le));
        out.counts.push((cumulative - below).max(0.0));
        below = cumulative.max(below);
    }
    out
}

/// p95 of a distribution, for the page's caption.
pub(crate) fn distribution_quantile(d: &Distribution, q: f64) -> Option<f64> {
    let bounds: Vec<f64> = d.upper.iter().map_while(|u| *u).collect();
    if bounds.len() + 1 != d.counts.len() {
        return None;
    }
    quantile(q, &bounds, &d.counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(selector: Option<&str>) -> Prometheus {
        Prometheus::new(
            Url::parse("http://127.0.0.1:9090/").unwrap(),
            None,
            selector.map(Arc::from),
            Duration::from_secs(1),
        )
        .unwrap()
    }

    #[test]
    fn promql_sums_before_dividing_and_adds_the_selector() {
        let p = client(Some(r#"job="recs""#));
        assert_eq!(
            p.promql(Q::ErrorRate, "60s", "900s"),
            "100 * sum(rate(recommendation_requests_total{status=~\"5..\",job=\"recs\"}[60s])) \
             / sum(rate(recommendation_requests_total{job=\"recs\"}[60s]))"
        );
        let p = client(None);
        assert_eq!(
            p.promql(Q::Rpm, "60s", "900s"),
            "sum(rate(recommendation_requests_total[60s])) * 60"
        );
        assert_eq!(
            p.promql(Q::LatencyP95, "60s", "900s"),
            "1000 * histogram_quantile(0.95, sum by (le) \
             (rate(recommendation_request_duration_seconds_bucket[60s])))"
        );
    }

    #[test]
    fn parses_matrix_and_vector_answers() {
        let body: serde_json::Value = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"matrix","result":[
                {"metric":{},"values":[[100,"1.5"],[105,"NaN"],[110,"2"]]}]}}"#,
        )
        .unwrap();
        let r = parse_results(&body);
        assert_eq!(
            r[0].values,
            vec![(100.0, Some(1.5)), (105.0, None), (110.0, Some(2.0))]
        );
        let filled = fill(r.into_iter().next().unwrap().values, 95.0, 115.0, 5);
        assert_eq!(
            filled,
            vec![
                (95.0, None),
                (100.0, Some(1.5)),
                (105.0, None),
                (110.0, Some(2.0)),
                (115.0, None)
            ]
        );
        let body: serde_json::Value = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"vector","result":[
                {"metric":{"le":"+Inf"},"value":[1,"10"]},
                {"metric":{"le":"0.1"},"value":[1,"4"]},
                {"metric":{"le":"1"},"value":[1,"9"]}]}}"#,
        )
        .unwrap();
        let d = distribution(parse_results(&body));
        assert_eq!(d.upper, vec![Some(0.1), Some(1.0), None]);
        assert_eq!(d.counts, vec![4.0, 5.0, 1.0]);
        assert!(distribution_quantile(&d, 0.5).unwrap() > 0.1);
    }
}
