//! recwatch's metric store: plain atomics for counters and gauges, fixed-bucket histograms.
//!
//! `metrics-exporter-prometheus` buffers every histogram sample until a drain folds it into
//! buckets; a sample pushed while a drain swaps the buffer out can be lost (we measured 2.4 % of
//! samples lost under CPU contention, see docs/metrics.md). recwatch stores histograms itself:
//! each series is an array of atomic bucket counters plus an atomic sum, so recording is one
//! search over the bounds and two atomic updates, nothing is buffered, and memory does not depend
//! on the number of observations. Counters and gauges are single atomics, without the
//! generation counter the upstream store keeps for idle expiry (which recwatch uses only for
//! `gpu_*` gauges, left to `metrics-exporter-prometheus`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use metrics::{HistogramFn, Key, KeyName, SharedString};

use crate::catalogue;
#[cfg(feature = "telemetry")]
use crate::exemplar;

use metrics_util::registry::{Registry, Storage};

/// One histogram series.
pub(crate) struct FixedHistogram {
    bounds: Arc<[f64]>,
    /// Non-cumulative counts; the last one is the `+Inf` overflow bucket.
    counts: Box<[AtomicU64]>,
    sum_bits: AtomicU64,
    /// One exemplar per bucket (same indices as `counts`), for histograms the catalogue marks
    /// as exemplar-capable; `None` for the others, and absent without `telemetry`.
    #[cfg(feature = "telemetry")]
    exemplars: Option<Box<[exemplar::Slot]>>,
}

impl FixedHistogram {
    #[cfg_attr(not(feature = "telemetry"), allow(unused_variables))]
    fn new(bounds: Arc<[f64]>, exemplars: bool) -> Self {
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Self {
            #[cfg(feature = "telemetry")]
            exemplars: exemplars.then(|| (0..=bounds.len()).map(|_| Default::default()).collect()),
            bounds,
            counts,
            sum_bits: AtomicU64::new(0f64.to_bits()),
        }
    }

    fn add(&self, value: f64, n: u64) {
        // NaN has no bucket and would poison the sum: it is not recorded.
        if value.is_nan() || n == 0 {
            return;
        }
        let index = self.bounds.partition_point(|b| *b < value);
        self.counts[index].fetch_add(n, Ordering::Relaxed);
        #[cfg(feature = "telemetry")]
        if let Some(slots) = &self.exemplars {
            if let Some(ids) = exemplar::current() {
                slots[index].store(ids, value);
            }
        }
        let delta = value * n as f64;
        let mut current = self.sum_bits.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(current) + delta).to_bits();
            match self.sum_bits.compare_exchange_weak(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(actual) => current = actual,
            }
        }
    }
}

impl HistogramFn for FixedHistogram {
    fn record(&self, value: f64) {
        self.add(value, 1);
    }

    fn record_many(&self, value: f64, count: usize) {
        self.add(value, count as u64);
    }
}

/// Bucket layouts set by the application, by metric name; then the catalogue's; then a default.
#[derive(Clone)]
pub(crate) struct Layouts {
    pub(crate) default: Arc<[f64]>,
    pub(crate) by_name: Vec<(String, Arc<[f64]>)>,
}

impl Layouts {
    fn for_name(&self, name: &str) -> Arc<[f64]> {
        self.by_name
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.clone())
            .or_else(|| catalogue::find(name).and_then(|s| s.buckets).map(Arc::from))
            .unwrap_or_else(|| self.default.clone())
    }
}

/// Registry storage: atomics for counters and gauges (f64 bits), [`FixedHistogram`]s.
struct StoreStorage {
    layouts: Layouts,
}

impl Storage<Key> for StoreStorage {
    type Counter = Arc<AtomicU64>;
    type Gauge = Arc<AtomicU64>;
    type Histogram = Arc<FixedHistogram>;

    fn counter(&self, _key: &Key) -> Self::Counter {
        Arc::new(AtomicU64::new(0))
    }

    fn gauge(&self, _key: &Key) -> Self::Gauge {
        Arc::new(AtomicU64::new(0))
    }

    fn histogram(&self, key: &Key) -> Self::Histogram {
        let exemplars = catalogue::find(key.name()).is_some_and(|spec| spec.exemplars);
        Arc::new(FixedHistogram::new(
            self.layouts.for_name(key.name()),
            exemplars,
        ))
    }
}

/// A counter or gauge family: its Prometheus type and its (label block, value) series.
type ScalarFamily = (&'static str, Vec<(String, f64)>);

/// Holds every series and renders them in the Prometheus text format.
pub(crate) struct Store {
    registry: Registry<Key, StoreStorage>,
    descriptions: RwLock<BTreeMap<String, SharedString>>,
    global_labels: Vec<(String, String)>,
}

fn sanitize_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.chars().next().is_none_or(|c| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

fn sanitize_label_name(name: &str) -> String {
    sanitize_name(name).replace(':', "_")
}

fn push_escaped(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn push_help(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Prometheus text for a sample value (`+Inf`, `-Inf`, `NaN` spelled as Prometheus expects).
fn push_value(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{v}");
    }
}

impl Store {
    pub(crate) fn new(layouts: Layouts, global_labels: Vec<(String, String)>) -> Self {
        Self {
            registry: Registry::new(StoreStorage { layouts }),
            descriptions: RwLock::new(BTreeMap::new()),
            global_labels,
        }
    }

    pub(crate) fn describe(&self, key: KeyName, description: SharedString) {
        let mut d = self.descriptions.write().unwrap_or_else(|p| p.into_inner());
        d.entry(sanitize_name(key.as_str())).or_insert(description);
    }

    pub(crate) fn histogram(&self, key: &Key) -> metrics::Histogram {
        self.registry
            .get_or_create_histogram(key, |h| metrics::Histogram::from_arc(h.clone()))
    }

    pub(crate) fn counter(&self, key: &Key) -> metrics::Counter {
        self.registry
            .get_or_create_counter(key, |c| metrics::Counter::from_arc(c.clone()))
    }

    pub(crate) fn gauge(&self, key: &Key) -> metrics::Gauge {
        self.registry
            .get_or_create_gauge(key, |g| metrics::Gauge::from_arc(g.clone()))
    }

    /// `# HELP` of `name` (a `describe_*!` text, else the catalogue's), written for `family`.
    fn push_help(&self, out: &mut String, name: &str, family: &str, format: Format) {
        let descriptions = self.descriptions.read().unwrap_or_else(|p| p.into_inner());
        let help = descriptions
            .get(name)
            .map(|h| &**h)
            .or_else(|| catalogue::find(name).map(|s| s.help));
        if let Some(help) = help {
            let _ = write!(out, "# HELP {family} ");
            match format {
                Format::Prometheus => push_help(out, help),
                Format::OpenMetrics => push_escaped(out, help),
            }
            out.push('\n');
        }
    }

    /// Renders counters and gauges (`scalar` families).
    fn render_scalars(&self, out: &mut String, format: Format) {
        let mut families: BTreeMap<String, ScalarFamily> = BTreeMap::new();
        self.registry.visit_counters(|key, c| {
            let name = sanitize_name(key.name());
            let v = c.load(Ordering::Relaxed) as f64;
            families
                .entry(name)
                .or_insert(("counter", Vec::new()))
                .1
                .push((self.labels(key), v));
        });
        self.registry.visit_gauges(|key, g| {
            let name = sanitize_name(key.name());
            let kind = match catalogue::find(&name) {
                Some(spec) => spec.exposition_type(),
                None => "gauge",
            };
            let v = f64::from_bits(g.load(Ordering::Relaxed));
            families
                .entry(name)
                .or_insert((kind, Vec::new()))
                .1
                .push((self.labels(key), v));
        });
        for (name, (kind, mut series)) in families {
            series.sort_by(|a, b| a.0.cmp(&b.0));
            match format {
                Format::Prometheus => {
                    self.push_help(out, &name, &name, format);
                    let _ = writeln!(out, "# TYPE {name} {kind}");
                }
                Format::OpenMetrics => {
                    let (family, kind) = openmetrics_family(&name, kind);
                    self.push_help(out, &name, family, format);
                    let _ = writeln!(out, "# TYPE {family} {kind}");
                    push_unit(out, &name, family);
                }
            }
            for (labels, v) in series {
                out.push_str(&name);
                if labels.len() > 1 {
                    out.push_str(&labels[..labels.len() - 1]);
                    out.push('}');
                }
                out.push(' ');
                push_value(out, v);
                out.push('\n');
            }
            if format == Format::Prometheus {
                out.push('\n');
            }
        }
    }

    /// Label block of one series (`{a="x",b="y"`, without the closing brace), metric labels
    /// overriding global labels of the same name.
    fn labels(&self, key: &Key) -> String {
        let mut out = String::from("{");
        let own: Vec<(String, &str)> = key
            .labels()
            .map(|l| (sanitize_label_name(l.key()), l.value()))
            .collect();
        for (name, value) in &self.global_labels {
            if own.iter().all(|(n, _)| n != name) {
                out.push_str(name);
                out.push_str("=\"");
                push_escaped(&mut out, value);
                out.push_str("\",");
            }
        }
        for (name, value) in &own {
            out.push_str(name);
            out.push_str("=\"");
            push_escaped(&mut out, value);
            out.push_str("\",");
        }
        out
    }

    /// Renders every series in the Prometheus text format (version 0.0.4).
    pub(crate) fn render_into(&self, out: &mut String) {
        self.render_scalars(out, Format::Prometheus);
        self.render_histograms(out, Format::Prometheus);
    }

    /// Renders every series as OpenMetrics 1.0 metric families, with the exemplars of
    /// exemplar-capable histograms, without the final `# EOF`.
    pub(crate) fn render_openmetrics_into(&self, out: &mut String) {
        self.render_scalars(out, Format::OpenMetrics);
        self.render_histograms(out, Format::OpenMetrics);
    }

    fn render_histograms(&self, out: &mut String, format: Format) {
        let mut families: BTreeMap<String, Vec<(String, Arc<FixedHistogram>)>> = BTreeMap::new();
        self.registry.visit_histograms(|key, h| {
            families
                .entry(sanitize_name(key.name()))
                .or_default()
                .push((self.labels(key), h.clone()));
        });
        for (name, mut series) in families {
            series.sort_by(|a, b| a.0.cmp(&b.0));
            self.push_help(out, &name, &name, format);
            let _ = writeln!(out, "# TYPE {name} histogram");
            if format == Format::OpenMetrics {
                push_unit(out, &name, &name);
            }
            for (labels, h) in series {
                let mut cumulative = 0u64;
                for (i, bound) in h.bounds.iter().enumerate() {
                    cumulative += h.counts[i].load(Ordering::Relaxed);
                    let _ = write!(out, "{name}_bucket{labels}le=\"{bound}\"}} {cumulative}");
                    h.push_exemplar(out, i, format);
                    out.push('\n');
                }
                cumulative += h.counts[h.bounds.len()].load(Ordering::Relaxed);
                let _ = write!(out, "{name}_bucket{labels}le=\"+Inf\"}} {cumulative}");
                h.push_exemplar(out, h.bounds.len(), format);
                out.push('\n');
                let sum = f64::from_bits(h.sum_bits.load(Ordering::Relaxed));
                let mut sum_text = String::new();
                push_value(&mut sum_text, sum);
                // `_count` is the +Inf bucket, so the two always agree within one scrape.
                let closed = if labels.len() > 1 {
                    format!("{}}}", &labels[..labels.len() - 1])
                } else {
                    String::new()
                };
                let _ = writeln!(out, "{name}_sum{closed} {sum_text}");
                let _ = writeln!(out, "{name}_count{closed} {cumulative}");
            }
            if format == Format::Prometheus {
                out.push('\n');
            }
        }
    }
}

impl FixedHistogram {
    /// Appends ` # {trace_id="…",span_id="…"} value timestamp` for bucket `index`, in
    /// OpenMetrics only and when the bucket holds an exemplar.
    #[cfg_attr(
        not(feature = "telemetry"),
        allow(unused_variables, clippy::unused_self, clippy::ptr_arg)
    )]
    fn push_exemplar(&self, out: &mut String, index: usize, format: Format) {
        #[cfg(feature = "telemetry")]
        if format == Format::OpenMetrics {
            if let Some(e) = self
                .exemplars
                .as_ref()
                .and_then(|slots| slots[index].load())
            {
                let _ = write!(
                    out,
                    " # {{trace_id=\"{:032x}\",span_id=\"{:016x}\"}} ",
                    e.ids.trace_id, e.ids.span_id
                );
                push_value(out, e.value);
                let _ = write!(
                    out,
                    " {}.{:03}",
                    e.unix_nanos / 1_000_000_000,
                    e.unix_nanos % 1_000_000_000 / 1_000_000
                );
            }
        }
    }
}

/// Which text format to render.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Format {
    /// Prometheus text format 0.0.4.
    Prometheus,
    /// OpenMetrics 1.0 text format.
    OpenMetrics,
}

/// The OpenMetrics family name and type of a scalar family named `name` with Prometheus type
/// `kind`.
///
/// OpenMetrics counters are families without the `_total` that their samples carry. A counter
/// whose name lacks `_total` is typed `unknown`, so Prometheus stores it under the same series
/// name whichever format it scrapes.
pub(crate) fn openmetrics_family<'a>(name: &'a str, kind: &'a str) -> (&'a str, &'a str) {
    match (kind, name.strip_suffix("_total")) {
        ("counter", Some(family)) if !family.is_empty() => (family, "counter"),
        ("counter", _) => (name, "unknown"),
        _ => (name, kind),
    }
}

/// `# UNIT` of a catalogue metric, when the family name ends in its unit (which OpenMetrics
/// requires of a family with a unit).
pub(crate) fn push_unit(out: &mut String, name: &str, family: &str) {
    if let Some(spec) = catalogue::find(name) {
        let unit = spec.unit.as_str();
        if !unit.is_empty()
            && family
                .strip_suffix(unit)
                .is_some_and(|rest| rest.ends_with('_'))
        {
            let _ = writeln!(out, "# UNIT {family} {unit}");
        }
    }
}

/// One series' current value, for in-process readers (the dashboard's sampler).
#[cfg_attr(not(feature = "dashboard"), allow(dead_code))]
pub(crate) enum SeriesValue<'a> {
    /// A counter's total.
    Counter(u64),
    /// A gauge's value (also fractional counters, which are recorded as gauges).
    Gauge(f64),
    /// A histogram: its upper bounds, its non-cumulative counts (one more than `bounds`, the
    /// last being the `+Inf` overflow) and the sum of its observations.
    Histogram {
        /// Upper bounds, ascending.
        bounds: &'a [f64],
        /// Non-cumulative counts; `counts.len() == bounds.len() + 1`.
        counts: &'a [u64],
        /// Sum of the observed values.
        sum: f64,
    },
}

impl Store {
    /// Calls `f` with every series and its current value. Reads atomics only; no rendering.
    #[cfg_attr(not(feature = "dashboard"), allow(dead_code))]
    pub(crate) fn visit(&self, f: &mut dyn FnMut(&Key, SeriesValue<'_>)) {
        self.registry
            .visit_counters(|key, c| f(key, SeriesValue::Counter(c.load(Ordering::Relaxed))));
        self.registry.visit_gauges(|key, g| {
            f(
                key,
                SeriesValue::Gauge(f64::from_bits(g.load(Ordering::Relaxed))),
            )
        });
        let mut counts = Vec::new();
        self.registry.visit_histograms(|key, h| {
            counts.clear();
            counts.extend(h.counts.iter().map(|c| c.load(Ordering::Relaxed)));
            let sum = f64::from_bits(h.sum_bits.load(Ordering::Relaxed));
            f(
                key,
                SeriesValue::Histogram {
                    bounds: &h.bounds,
                    counts: &counts,
                    sum,
                },
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorder() -> Store {
        Store::new(
            Layouts {
                default: Arc::from(&[0.1, 1.0][..]),
                by_name: vec![("fine".into(), Arc::from(&[0.5][..]))],
            },
            vec![("service".into(), "svc".into())],
        )
    }

    #[test]
    fn buckets_are_cumulative_and_count_matches_inf() {
        let r = recorder();
        let h = r.histogram(&Key::from_parts(
            "lat",
            vec![metrics::Label::new("route", "/a\"b")],
        ));
        for v in [0.05, 0.1, 0.5, 2.0, f64::NAN] {
            h.record(v);
        }
        h.record_many(0.2, 3);
        r.describe(
            KeyName::from("lat"),
            SharedString::from("Latency.\nSecond line"),
        );
        let mut out = String::new();
        r.render_into(&mut out);
        let expected = "# HELP lat Latency.\\nSecond line\n\
# TYPE lat histogram\n\
lat_bucket{service=\"svc\",route=\"/a\\\"b\",le=\"0.1\"} 2\n\
lat_bucket{service=\"svc\",route=\"/a\\\"b\",le=\"1\"} 6\n\
lat_bucket{service=\"svc\",route=\"/a\\\"b\",le=\"+Inf\"} 7\n\
lat_sum{service=\"svc\",route=\"/a\\\"b\"} 3.25\n\
lat_count{service=\"svc\",route=\"/a\\\"b\"} 7\n\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn per_name_layout_no_labels_and_exact_concurrent_counts() {
        let r = recorder();
        let h = r.histogram(&Key::from_name("fine"));
        std::thread::scope(|s| {
            for _ in 0..4 {
                let h = h.clone();
                s.spawn(move || {
                    for i in 0..100_000 {
                        h.record(if i % 2 == 0 { 0.25 } else { 0.75 });
                    }
                });
            }
        });
        let mut out = String::new();
        r.render_into(&mut out);
        assert!(
            out.contains("fine_bucket{service=\"svc\",le=\"0.5\"} 200000\n"),
            "{out}"
        );
        assert!(
            out.contains("fine_bucket{service=\"svc\",le=\"+Inf\"} 400000\n"),
            "{out}"
        );
        assert!(
            out.contains("fine_count{service=\"svc\"} 400000\n"),
            "{out}"
        );
        assert!(out.contains("fine_sum{service=\"svc\"} 200000\n"), "{out}");
    }

    #[test]
    fn counters_and_gauges_render_with_types_and_special_values() {
        let r = recorder();
        r.counter(&Key::from_parts(
            "hits_total",
            vec![metrics::Label::new("a", "1")],
        ))
        .increment(3);
        r.gauge(&Key::from_name("temp")).set(f64::INFINITY);
        r.gauge(&Key::from_name(catalogue::PROCESS_CPU_SECONDS_TOTAL.name))
            .set(1.5);
        r.describe(KeyName::from("hits_total"), SharedString::from("Hits."));
        let mut out = String::new();
        r.render_into(&mut out);
        assert!(out.contains("# HELP hits_total Hits.\n# TYPE hits_total counter\nhits_total{service=\"svc\",a=\"1\"} 3\n"), "{out}");
        assert!(
            out.contains("# TYPE temp gauge\ntemp{service=\"svc\"} +Inf\n"),
            "{out}"
        );
        assert!(out.contains("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total{service=\"svc\"} 1.5\n"), "{out}");
    }

    #[test]
    fn names_are_sanitized() {
        assert_eq!(sanitize_name("a.b-c"), "a_b_c");
        assert_eq!(sanitize_name("1x"), "_1x");
        assert_eq!(sanitize_label_name("a:b"), "a_b");
    }
}
