//! The embedded time-series store: one fixed-capacity ring of samples of recwatch's own metrics.
//!
//! Each sample holds cumulative totals (request and error counts, histogram bucket counts and
//! sums) and gauge values, so the rate or quantile between any two samples is exact: a chart
//! point over several steps is the difference of its two end samples, never an average of
//! averages.

use std::collections::VecDeque;
use std::sync::Arc;

use metrics::Key;

use crate::catalogue::{
    ACTIVE_USERS, GPU_MEMORY_USAGE_PERCENT, GPU_USAGE_PERCENT, INFERENCE_DURATION_SECONDS,
    REQUESTS_TOTAL, REQUEST_DURATION_SECONDS, SYSTEM_CPU_USAGE_PERCENT,
    SYSTEM_MEMORY_USAGE_PERCENT,
};
use crate::exporter::{MetricsHandle, SeriesValue};

/// Name of the headline quality gauge.
pub(crate) const QUALITY_SCORE: &str = crate::catalogue::QUALITY_SCORE.name;
/// Name of the drift-share gauge.
pub(crate) const DRIFT_SCORE: &str = crate::catalogue::DRIFT_SCORE.name;

/// A histogram family summed over its series: non-cumulative counts (last is `+Inf`) and sum.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Hist {
    pub(crate) counts: Box<[u64]>,
    pub(crate) sum: f64,
}

impl Hist {
    fn add(&mut self, counts: &[u64], sum: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; counts.len()].into_boxed_slice();
        }
        if self.counts.len() != counts.len() {
            return;
        }
        for (a, b) in self.counts.iter_mut().zip(counts) {
            *a += b;
        }
        self.sum += sum;
    }

    /// Observations in total.
    pub(crate) fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// `later - self`, bucket by bucket (empty when the layouts differ).
    pub(crate) fn delta(&self, later: &Hist) -> Hist {
        if later.counts.len() != self.counts.len() {
            return if self.counts.is_empty() {
                later.clone()
            } else {
                Hist::default()
            };
        }
        Hist {
            counts: later
                .counts
                .iter()
                .zip(self.counts.iter())
                .map(|(l, e)| l.saturating_sub(*e))
                .collect(),
            sum: (later.sum - self.sum).max(0.0),
        }
    }
}

/// A gauge family reduced over its series.
#[derive(Clone, Copy, Debug, Default)]
struct GaugeAcc {
    sum: f64,
    max: f64,
    n: u32,
}

impl GaugeAcc {
    fn add(&mut self, v: f64) {
        if v.is_finite() {
            self.max = if self.n == 0 { v } else { self.max.max(v) };
            self.sum += v;
            self.n += 1;
        }
    }
    fn sum(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            self.sum
        }
    }
    fn mean(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            self.sum / f64::from(self.n)
        }
    }
    fn max(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            self.max
        }
    }
}

/// One sample of everything the page shows. Gauges absent from the store are `NaN`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sample {
    /// Unix time, seconds.
    pub(crate) t: f64,
    pub(crate) requests: u64,
    pub(crate) errors: u64,
    pub(crate) latency: Hist,
    pub(crate) inference: Hist,
    pub(crate) active_users: f64,
    pub(crate) cpu: f64,
    pub(crate) memory: f64,
    pub(crate) gpu: f64,
    pub(crate) gpu_memory: f64,
    pub(crate) quality: f64,
    pub(crate) drift: f64,
}

/// Bucket upper bounds of the two histogram families, learnt from the first series seen.
#[derive(Clone, Debug, Default)]
pub(crate) struct Bounds {
    pub(crate) latency: Option<Arc<[f64]>>,
    pub(crate) inference: Option<Arc<[f64]>>,
}

fn is_server_error(key: &Key) -> bool {
    key.labels()
        .any(|l| l.key() == "status" && l.value().starts_with('5'))
}

/// Reads one sample from the handle's store (after its collectors run).
pub(crate) fn read(handle: &MetricsHandle, t: f64, bounds: &mut Bounds) -> Sample {
    let mut s = Sample {
        t,
        ..Sample::default()
    };
    let mut users = GaugeAcc::default();
    let mut cpu = GaugeAcc::default();
    let mut memory = GaugeAcc::default();
    let mut gpu = GaugeAcc::default();
    let mut gpu_memory = GaugeAcc::default();
    let mut quality = GaugeAcc::default();
    let mut drift = GaugeAcc::default();
    handle.visit_series(&mut |key, value| {
        let name = key.name();
        match value {
            SeriesValue::Counter(v) if name == REQUESTS_TOTAL.name => {
                s.requests += v;
                if is_server_error(key) {
                    s.errors += v;
                }
            }
            SeriesValue::Histogram {
                bounds: b,
                counts,
                sum,
            } => {
                let (hist, known) = if name == REQUEST_DURATION_SECONDS.name {
                    (&mut s.latency, &mut bounds.latency)
                } else if name == INFERENCE_DURATION_SECONDS.name {
                    (&mut s.inference, &mut bounds.inference)
                } else {
                    return;
                };
                match known {
                    Some(k) if **k != *b => {}
                    _ => {
                        if known.is_none() {
                            *known = Some(Arc::from(b));
                        }
                        hist.add(counts, sum);
                    }
                }
            }
            SeriesValue::Gauge(v) => {
                let acc: &mut GaugeAcc = match name {
                    n if n == ACTIVE_USERS.name => &mut users,
                    n if n == SYSTEM_CPU_USAGE_PERCENT.name => &mut cpu,
                    n if n == SYSTEM_MEMORY_USAGE_PERCENT.name => &mut memory,
                    n if n == GPU_USAGE_PERCENT.name => &mut gpu,
                    n if n == GPU_MEMORY_USAGE_PERCENT.name => &mut gpu_memory,
                    QUALITY_SCORE => &mut quality,
                    DRIFT_SCORE => &mut drift,
                    _ => return,
                };
                acc.add(v);
            }
            SeriesValue::Counter(_) => {}
        }
    });
    s.active_users = users.sum();
    s.cpu = cpu.mean();
    s.memory = memory.mean();
    s.gpu = gpu.mean();
    s.gpu_memory = gpu_memory.mean();
    s.quality = quality.mean();
    s.drift = drift.max();
    s
}

/// A fixed-capacity ring of samples: the oldest leaves when a new one arrives at capacity.
#[derive(Debug)]
pub(crate) struct Ring {
    pub(crate) samples: VecDeque<Sample>,
    capacity: usize,
    pub(crate) bounds: Bounds,
}

impl Ring {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            samples: VecDeque::with_capacity(capacity),
            capacity,
            bounds: Bounds::default(),
        }
    }

    pub(crate) fn push(&mut self, sample: Sample) {
        if self.samples.len() == self.capacity {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }
}

/// Bytes one sample takes with the given bucket layouts (inline part plus bucket arrays).
pub(crate) fn sample_bytes(latency_buckets: usize, inference_buckets: usize) -> usize {
    std::mem::size_of::<Sample>() + 8 * (latency_buckets + 1 + inference_buckets + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_is_bounded_and_keeps_the_newest() {
        let mut r = Ring::new(3);
        for i in 0..5 {
            r.push(Sample {
                t: f64::from(i),
                ..Sample::default()
            });
        }
        assert_eq!(r.samples.len(), 3);
        assert_eq!(r.samples.front().unwrap().t, 2.0);
        assert_eq!(r.samples.back().unwrap().t, 4.0);
        assert_eq!(r.samples.capacity(), r.capacity().max(r.samples.capacity()));
    }

    #[test]
    fn reads_totals_from_the_store() {
        let (recorder, handle) = crate::exporter::ExporterBuilder::new().build();
        metrics::with_local_recorder(&recorder, || {
            let c = |status: &'static str, n| {
                metrics::counter!(REQUESTS_TOTAL.name, "status" => status).increment(n)
            };
            c("200", 7);
            c("503", 2);
            c("500", 1);
            metrics::histogram!(REQUEST_DURATION_SECONDS.name, "status" => "200").record(0.02);
            metrics::histogram!(REQUEST_DURATION_SECONDS.name, "status" => "500").record(0.2);
            metrics::gauge!(SYSTEM_CPU_USAGE_PERCENT.name).set(40.0);
            metrics::gauge!(GPU_USAGE_PERCENT.name, "gpu" => "0").set(30.0);
            metrics::gauge!(GPU_USAGE_PERCENT.name, "gpu" => "1").set(50.0);
        });
        let mut bounds = Bounds::default();
        let s = read(&handle, 1.0, &mut bounds);
        assert_eq!((s.requests, s.errors), (10, 3));
        assert_eq!(s.latency.count(), 2);
        assert!((s.latency.sum - 0.22).abs() < 1e-12);
        assert_eq!(
            bounds.latency.as_deref().map(<[f64]>::len),
            Some(s.latency.counts.len() - 1)
        );
        assert_eq!(s.cpu, 40.0);
        assert_eq!(s.gpu, 40.0);
        assert!(s.memory.is_nan() && s.quality.is_nan() && s.active_users.is_nan());
        assert_eq!(s.inference.count(), 0);
    }
}
