//! What the page shows, independent of where it comes from: key numbers, trend series and the
//! inference-time distribution over one time range.

use serde::Serialize;

use super::series::{Hist, Ring, Sample};

/// Points per trend chart (at most).
pub(crate) const POINTS: usize = 180;

/// Window of the key numbers, seconds.
pub(crate) const NUMBERS_WINDOW_S: f64 = 300.0;

/// The time ranges the selector offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Range {
    M15,
    H1,
    H6,
}

impl Range {
    pub(crate) const ALL: [Range; 3] = [Range::M15, Range::H1, Range::H6];

    pub(crate) fn secs(self) -> u64 {
        match self {
            Range::M15 => 15 * 60,
            Range::H1 => 3600,
            Range::H6 => 6 * 3600,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Range::M15 => "15m",
            Range::H1 => "1h",
            Range::H6 => "6h",
        }
    }

    /// The range named in a query string (`range=1h`), or the default (15 minutes): a bad value
    /// is not an error, the page just shows its default.
    pub(crate) fn from_query(query: Option<&str>) -> Range {
        query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter_map(|kv| kv.strip_prefix("range="))
            .find_map(|v| Range::ALL.into_iter().find(|r| r.as_str() == v))
            .unwrap_or(Range::M15)
    }
}

/// One chart point: unix seconds and a value, `None` where there is no data.
pub(crate) type Point = (f64, Option<f64>);

/// The key numbers, over the last [`NUMBERS_WINDOW_S`] seconds.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub(crate) struct Numbers {
    pub(crate) requests_per_min: Option<f64>,
    pub(crate) avg_response_ms: Option<f64>,
    pub(crate) error_rate_percent: Option<f64>,
    pub(crate) active_users: Option<f64>,
}

/// The trend series.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct Series {
    pub(crate) requests_per_min: Vec<Point>,
    pub(crate) error_rate_percent: Vec<Point>,
    pub(crate) latency_avg_ms: Vec<Point>,
    pub(crate) latency_p95_ms: Vec<Point>,
    pub(crate) cpu_percent: Vec<Point>,
    pub(crate) memory_percent: Vec<Point>,
    pub(crate) gpu_percent: Vec<Point>,
    pub(crate) gpu_memory_percent: Vec<Point>,
    pub(crate) quality: Vec<Point>,
    pub(crate) drift: Vec<Point>,
    pub(crate) inference_p95_ms: Vec<Point>,
}

/// Inference calls per latency bucket over the range: `upper[i]` is the bucket's upper bound in
/// seconds (`None` for `+Inf`), `counts[i]` the calls that fell in it (not cumulative).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub(crate) struct Distribution {
    pub(crate) upper: Vec<Option<f64>>,
    pub(crate) counts: Vec<f64>,
}

impl Distribution {
    pub(crate) fn total(&self) -> f64 {
        self.counts.iter().sum()
    }
}

/// Everything one page (or one refresh) shows.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct View {
    /// `embedded` or `prometheus`.
    pub(crate) source: &'static str,
    pub(crate) range: &'static str,
    pub(crate) start: f64,
    pub(crate) end: f64,
    /// Seconds between two chart points.
    pub(crate) step: f64,
    /// Something the reader should know (Prometheus unreachable, …).
    pub(crate) notice: Option<String>,
    pub(crate) numbers: Numbers,
    pub(crate) series: Series,
    pub(crate) inference: Distribution,
}

/// The `q`-quantile of a histogram, interpolated linearly inside its bucket as Prometheus's
/// `histogram_quantile` does: the first bucket starts at 0, and a rank in the `+Inf` bucket
/// answers the highest finite bound. `counts` are non-cumulative, one more than `bounds`.
/// `None` without observations.
pub(crate) fn quantile(q: f64, bounds: &[f64], counts: &[f64]) -> Option<f64> {
    let total: f64 = counts.iter().sum();
    if total.is_nan() || total <= 0.0 || counts.len() != bounds.len() + 1 {
        return None;
    }
    let rank = q.clamp(0.0, 1.0) * total;
    let mut below = 0.0;
    for (i, &c) in counts.iter().enumerate() {
        if c > 0.0 && below + c >= rank {
            let Some(&upper) = bounds.get(i) else {
                return bounds.last().copied();
            };
            let lower = if i == 0 {
                0.0f64.min(upper)
            } else {
                bounds[i - 1]
            };
            return Some(lower + (upper - lower) * ((rank - below) / c).clamp(0.0, 1.0));
        }
        below += c;
    }
    bounds.last().copied()
}

fn as_f64(counts: &[u64]) -> Vec<f64> {
    counts.iter().map(|&c| c as f64).collect()
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (mut sum, mut n) = (0.0, 0u32);
    for v in values.filter(|v| v.is_finite()) {
        sum += v;
        n += 1;
    }
    (n > 0).then(|| sum / f64::from(n))
}

/// Request rate, error rate and mean latency between two samples.
fn rates(a: &Sample, c: &Sample) -> (Option<f64>, Option<f64>, Option<f64>, Hist) {
    let dt = c.t - a.t;
    let requests = c.requests.saturating_sub(a.requests);
    let errors = c.errors.saturating_sub(a.errors);
    let latency = a.latency.delta(&c.latency);
    let count = latency.count();
    let rpm = (dt > 0.0).then(|| requests as f64 / dt * 60.0);
    let err = (requests > 0).then(|| errors as f64 / requests as f64 * 100.0);
    let avg = (count > 0).then(|| latency.sum / count as f64 * 1000.0);
    (rpm, err, avg, latency)
}

/// The view of the embedded store over `range`, ending at `now` (unix seconds).
pub(crate) fn embedded(ring: &Ring, range: Range, now: f64, step: f64) -> View {
    let start = now - range.secs() as f64;
    // One sample before the range gives its first point a baseline.
    let samples: Vec<&Sample> = {
        let first = ring
            .samples
            .iter()
            .position(|s| s.t >= start)
            .unwrap_or(ring.samples.len());
        ring.samples
            .iter()
            .skip(first.saturating_sub(1))
            .filter(|s| s.t <= now)
            .collect()
    };
    let mut series = Series::default();
    let latency_bounds = ring.bounds.latency.as_deref().unwrap_or(&[]);
    let inference_bounds = ring.bounds.inference.as_deref().unwrap_or(&[]);
    let n = samples.len();
    let bin = n.saturating_sub(1).div_ceil(POINTS).max(1);
    if n >= 2 {
        let mut ends: Vec<usize> = (0..n).rev().step_by(bin).collect();
        ends.reverse();
        for pair in ends.windows(2) {
            let (a, c) = (samples[pair[0]], samples[pair[1]]);
            let t = c.t;
            let (rpm, err, avg, latency) = rates(a, c);
            let p95 = quantile(0.95, latency_bounds, &as_f64(&latency.counts)).map(|s| s * 1000.0);
            let inference = a.inference.delta(&c.inference);
            let ip95 =
                quantile(0.95, inference_bounds, &as_f64(&inference.counts)).map(|s| s * 1000.0);
            let inside = &samples[pair[0] + 1..=pair[1]];
            let gauge = |f: fn(&Sample) -> f64| mean(inside.iter().map(|s| f(s)));
            series.requests_per_min.push((t, rpm));
            series.error_rate_percent.push((t, err));
            series.latency_avg_ms.push((t, avg));
            series.latency_p95_ms.push((t, p95));
            series.inference_p95_ms.push((t, ip95));
            series.cpu_percent.push((t, gauge(|s| s.cpu)));
            series.memory_percent.push((t, gauge(|s| s.memory)));
            series.gpu_percent.push((t, gauge(|s| s.gpu)));
            series.gpu_memory_percent.push((t, gauge(|s| s.gpu_memory)));
            series.quality.push((t, gauge(|s| s.quality)));
            series.drift.push((t, gauge(|s| s.drift)));
        }
    }
    let mut numbers = Numbers::default();
    let mut inference = Distribution::default();
    if let (Some(first), Some(last)) = (samples.first(), samples.last()) {
        let base = samples
            .iter()
            .find(|s| s.t >= last.t - NUMBERS_WINDOW_S)
            .unwrap_or(first);
        if base.t < last.t {
            let (rpm, err, avg, _) = rates(base, last);
            numbers.requests_per_min = rpm;
            numbers.error_rate_percent = err;
            numbers.avg_response_ms = avg;
        }
        numbers.active_users = finite(last.active_users);
        let d = first.inference.delta(&last.inference);
        if d.counts.len() == inference_bounds.len() + 1 {
            inference.upper = inference_bounds
                .iter()
                .map(|b| Some(*b))
                .chain([None])
                .collect();
            inference.counts = as_f64(&d.counts);
        }
    }
    // The store holds nothing from before the sampler started: charts begin at its first sample.
    let start = samples.first().map_or(start, |s| s.t.max(start));
    View {
        source: "embedded",
        range: range.as_str(),
        start,
        end: now,
        step: step * bin as f64,
        notice: None,
        numbers,
        series,
        inference,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_matches_prometheus_interpolation() {
        // histogram_quantile(0.95, ...) over buckets le=0.1:10, le=1:20 (cumulative 10, 30),
        // +Inf:30 → rank 28.5 in (0.1, 1]: 0.1 + 0.9 * 18.5 / 20.
        let q = quantile(0.95, &[0.1, 1.0], &[10.0, 20.0, 0.0]).unwrap();
        assert!((q - (0.1 + 0.9 * 18.5 / 20.0)).abs() < 1e-12, "{q}");
        // Rank in the first bucket interpolates from 0.
        let q = quantile(0.5, &[0.1, 1.0], &[10.0, 0.0, 0.0]).unwrap();
        assert!((q - 0.05).abs() < 1e-12, "{q}");
        // Rank in +Inf: the highest finite bound.
        assert_eq!(quantile(0.99, &[0.1, 1.0], &[0.0, 0.0, 5.0]), Some(1.0));
        assert_eq!(quantile(0.5, &[0.1], &[0.0, 0.0]), None);
        assert_eq!(quantile(0.5, &[0.1], &[1.0]), None);
    }

    #[test]
    fn range_from_query_defaults_on_bad_input() {
        assert_eq!(Range::from_query(Some("range=1h")), Range::H1);
        assert_eq!(Range::from_query(Some("x=1&range=6h")), Range::H6);
        assert_eq!(Range::from_query(Some("range=../../etc")), Range::M15);
        assert_eq!(Range::from_query(None), Range::M15);
    }

    fn sample(t: f64, requests: u64, errors: u64, lat: [u64; 3], lat_sum: f64) -> Sample {
        Sample {
            t,
            requests,
            errors,
            latency: Hist {
                counts: lat.into(),
                sum: lat_sum,
            },
            cpu: t,
            memory: f64::NAN,
            active_users: 3.0,
            ..Sample::default()
        }
    }

    #[test]
    fn embedded_rates_are_deltas_between_samples() {
        let mut ring = Ring::new(100);
        ring.bounds.latency = Some(std::sync::Arc::from(&[0.1, 1.0][..]));
        // 60 requests per 5 s = 720/min; 6 of them 5xx; 10 ms each.
        for i in 0..=20u64 {
            let n = 60 * i;
            ring.push(sample(
                1000.0 + 5.0 * i as f64,
                n,
                n / 10,
                [n, 0, 0],
                n as f64 * 0.01,
            ));
        }
        let v = embedded(&ring, Range::M15, 1100.0, 5.0);
        assert_eq!(v.series.requests_per_min.len(), 20);
        for &(_, rpm) in &v.series.requests_per_min {
            assert!((rpm.unwrap() - 720.0).abs() < 1e-9);
        }
        assert!((v.series.error_rate_percent[3].1.unwrap() - 10.0).abs() < 1e-9);
        assert!((v.series.latency_avg_ms[0].1.unwrap() - 10.0).abs() < 1e-9);
        // p95 of uniform-in-(0, 0.1] observations: 95 ms.
        assert!((v.series.latency_p95_ms[0].1.unwrap() - 95.0).abs() < 1e-9);
        // A gauge point is the mean of the samples in its bin (here one sample, cpu = t).
        assert_eq!(v.series.cpu_percent[0], (1005.0, Some(1005.0)));
        assert_eq!(v.series.memory_percent[0].1, None);
        assert_eq!(
            v.numbers,
            Numbers {
                requests_per_min: Some(720.0),
                avg_response_ms: Some(10.0),
                error_rate_percent: Some(10.0),
                active_users: Some(3.0),
            }
        );
    }

    #[test]
    fn embedded_bins_long_ranges_and_handles_an_empty_ring() {
        let mut ring = Ring::new(5000);
        for i in 0..4320u64 {
            ring.push(sample(5.0 * i as f64, 2 * i, 0, [0, 0, 0], 0.0));
        }
        let now = 5.0 * 4319.0;
        let v = embedded(&ring, Range::H6, now, 5.0);
        assert!(v.series.requests_per_min.len() <= POINTS);
        assert!(v.series.requests_per_min.len() >= POINTS - 1);
        assert_eq!(v.step, 5.0 * 24.0);
        for &(_, rpm) in &v.series.requests_per_min {
            assert!((rpm.unwrap() - 24.0).abs() < 1e-9);
        }
        assert_eq!(v.series.error_rate_percent[0].1, Some(0.0));
        let empty = embedded(&Ring::new(10), Range::H1, now, 5.0);
        assert!(empty.series.requests_per_min.is_empty());
        assert_eq!(empty.numbers, Numbers::default());
        assert_eq!(empty.inference.total(), 0.0);
    }
}
