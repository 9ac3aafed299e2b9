//! The metric catalogue: every metric recwatch emits, defined once.
//!
//! Each metric is a [`MetricSpec`]: its name in each naming scheme, kind, unit, help text, label
//! keys, default buckets, whether it is a fractional counter and whether its series expire.
//! Sources record through these specifications (`spec.name`, `spec.labels`); the exporter takes
//! kind, buckets, `# TYPE` typing, `# HELP` text and expiry from them — never from name
//! prefixes or lists of names. A new capability adds its metrics in a file of this module and
//! nowhere else.
//!
//! The table can be listed programmatically ([`all`], [`find`]) and as JSON ([`to_json`]), so
//! dashboards and alert rules can be checked against it.
//!
//! # Examples
//!
//! ```
//! use recwatch::catalogue::{self, MetricKind, Naming};
//!
//! let spec = catalogue::find("recommendation_request_duration_seconds").unwrap();
//! assert_eq!(spec.kind, MetricKind::Histogram);
//! assert_eq!(spec.labels, ["method", "endpoint", "status"]);
//! assert_eq!(
//!     spec.name_in(Naming::OpenTelemetry),
//!     Some("http_server_request_duration_seconds")
//! );
//! // Every metric has help text and a known kind.
//! assert!(catalogue::all().iter().all(|m| !m.help.is_empty()));
//! ```

mod buckets;
mod drift;
mod http;
mod inference;
mod quality;
mod sampler;
mod tracking;

use std::collections::HashMap;
use std::sync::OnceLock;

pub use buckets::{
    validate_buckets, DEFAULT_BATCH_SIZE_BUCKETS, DEFAULT_INFERENCE_BUCKETS,
    DEFAULT_REQUEST_BUCKETS, SAMPLER_TICK_BUCKETS,
};
pub use drift::*;
pub use http::*;
pub use inference::*;
pub use quality::*;
pub use sampler::*;
pub use tracking::*;

/// Which metric and label names a source uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[non_exhaustive]
pub enum Naming {
    /// recwatch's names (`recommendation_requests_total`, …), which the original design's
    /// alerts and dashboards use.
    #[default]
    Recwatch,
    /// OpenTelemetry semantic-convention names (`http_server_request_duration_seconds`, …) and
    /// label keys (`http_request_method`, …).
    OpenTelemetry,
}

/// The kind of a metric, as exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum MetricKind {
    /// A monotonic counter.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// A fixed-bucket histogram (`_bucket`, `_sum`, `_count`).
    Histogram,
}

impl MetricKind {
    /// The `# TYPE` word of the Prometheus text format.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(recwatch::catalogue::MetricKind::Gauge.as_str(), "gauge");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// The unit of a metric's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum MetricUnit {
    /// A plain count or a dimensionless number.
    None,
    /// Seconds.
    Seconds,
    /// Bytes.
    Bytes,
    /// Percent, 0–100.
    Percent,
    /// A ratio, 0–1.
    Ratio,
    /// Degrees Celsius.
    Celsius,
    /// Watts.
    Watts,
    /// Joules.
    Joules,
    /// CPU cores.
    Cores,
    /// Tokens (LLM input or output).
    Tokens,
}

impl MetricUnit {
    /// The unit's OpenMetrics name (`seconds`, `bytes`, …), empty for [`MetricUnit::None`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(recwatch::catalogue::MetricUnit::Seconds.as_str(), "seconds");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricUnit::None => "",
            MetricUnit::Seconds => "seconds",
            MetricUnit::Bytes => "bytes",
            MetricUnit::Percent => "percent",
            MetricUnit::Ratio => "ratio",
            MetricUnit::Celsius => "celsius",
            MetricUnit::Watts => "watts",
            MetricUnit::Joules => "joules",
            MetricUnit::Cores => "cores",
            MetricUnit::Tokens => "tokens",
        }
    }
}

/// One metric, as recwatch emits it.
///
/// Built only inside recwatch (the struct is `#[non_exhaustive]`); read it through [`all`],
/// [`find`] or the constants of this module.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct MetricSpec {
    /// Name in recwatch's naming scheme (without `_bucket`/`_sum`/`_count` suffixes).
    pub name: &'static str,
    /// Name in the OpenTelemetry semantic-convention scheme, if the metric exists there.
    pub otel_name: Option<&'static str>,
    /// Exported kind.
    pub kind: MetricKind,
    /// Unit of the values.
    pub unit: MetricUnit,
    /// `# HELP` text.
    pub help: &'static str,
    /// Label keys in recwatch's naming, in recording order (global labels such as `service`
    /// come on top).
    pub labels: &'static [&'static str],
    /// Label keys in the OpenTelemetry naming (same order as `labels`).
    pub otel_labels: &'static [&'static str],
    /// Default bucket bounds of a histogram; `None` uses the exporter's default layout.
    pub buckets: Option<&'static [f64]>,
    /// A monotonic value with fractional increments (CPU seconds, joules): recorded as a gauge
    /// through the `metrics` facade (whose counters are integers) and typed `counter`.
    pub fractional: bool,
    /// Series leave the exposition when not updated for the exporter's idle timeout (series of
    /// a GPU that disappeared).
    pub expires: bool,
    /// The capability (and Cargo feature) that records it: `http`, `inference`, `sampler`, ….
    pub source: &'static str,
}

impl MetricSpec {
    /// A specification with no OpenTelemetry name, no labels, no buckets, not fractional, not
    /// expiring. Used by the catalogue's own tables.
    pub(crate) const fn new(
        name: &'static str,
        kind: MetricKind,
        unit: MetricUnit,
        source: &'static str,
        help: &'static str,
    ) -> Self {
        Self {
            name,
            otel_name: None,
            kind,
            unit,
            help,
            labels: &[],
            otel_labels: &[],
            buckets: None,
            fractional: false,
            expires: false,
            source,
        }
    }

    pub(crate) const fn labels(mut self, labels: &'static [&'static str]) -> Self {
        self.labels = labels;
        self
    }

    pub(crate) const fn otel(
        mut self,
        name: &'static str,
        labels: &'static [&'static str],
    ) -> Self {
        self.otel_name = Some(name);
        self.otel_labels = labels;
        self
    }

    pub(crate) const fn buckets(mut self, buckets: &'static [f64]) -> Self {
        self.buckets = Some(buckets);
        self
    }

    pub(crate) const fn fractional(mut self) -> Self {
        self.fractional = true;
        self
    }

    pub(crate) const fn expiring(mut self) -> Self {
        self.expires = true;
        self
    }

    /// The metric's name in `naming`, or `None` where that scheme has no such metric.
    ///
    /// # Examples
    ///
    /// ```
    /// use recwatch::catalogue::{Naming, REQUESTS_TOTAL};
    /// assert_eq!(REQUESTS_TOTAL.name_in(Naming::Recwatch), Some("recommendation_requests_total"));
    /// // OpenTelemetry counts requests with the duration histogram's `_count`.
    /// assert_eq!(REQUESTS_TOTAL.name_in(Naming::OpenTelemetry), None);
    /// ```
    pub const fn name_in(&self, naming: Naming) -> Option<&'static str> {
        match naming {
            Naming::Recwatch => Some(self.name),
            Naming::OpenTelemetry => self.otel_name,
        }
    }

    /// The label keys in `naming`.
    pub const fn labels_in(&self, naming: Naming) -> &'static [&'static str] {
        match naming {
            Naming::Recwatch => self.labels,
            Naming::OpenTelemetry => self.otel_labels,
        }
    }

    /// The `# TYPE` word this metric is exported with (`counter` for fractional counters).
    pub const fn exposition_type(&self) -> &'static str {
        if self.fractional {
            "counter"
        } else {
            self.kind.as_str()
        }
    }
}

/// Every capability's table, in exposition order.
const TABLES: &[&[MetricSpec]] = &[
    http::SPECS,
    inference::SPECS,
    sampler::SPECS,
    quality::SPECS,
    drift::SPECS,
    tracking::SPECS,
];

/// Every metric recwatch can emit (with every feature), in a stable order.
///
/// # Examples
///
/// ```
/// let names: Vec<_> = recwatch::catalogue::all().iter().map(|m| m.name).collect();
/// assert!(names.contains(&"recommendation_requests_total"));
/// ```
pub fn all() -> &'static [&'static MetricSpec] {
    static ALL: OnceLock<Vec<&'static MetricSpec>> = OnceLock::new();
    ALL.get_or_init(|| TABLES.iter().flat_map(|t| t.iter()).collect())
}

/// The specification of the metric named `name` in any naming scheme.
///
/// # Examples
///
/// ```
/// use recwatch::catalogue;
/// assert!(catalogue::find("http_server_active_requests").is_some());
/// assert!(catalogue::find("no_such_metric").is_none());
/// ```
pub fn find(name: &str) -> Option<&'static MetricSpec> {
    static BY_NAME: OnceLock<HashMap<&'static str, &'static MetricSpec>> = OnceLock::new();
    BY_NAME
        .get_or_init(|| {
            let mut map = HashMap::new();
            for spec in all() {
                map.insert(spec.name, *spec);
                if let Some(otel) = spec.otel_name {
                    map.insert(otel, *spec);
                }
            }
            map
        })
        .get(name)
        .copied()
}

/// The whole catalogue as a JSON array of specifications (the fields of [`MetricSpec`]).
///
/// # Examples
///
/// ```
/// let json = recwatch::catalogue::to_json();
/// assert!(json.starts_with('['));
/// assert!(json.contains("\"name\":\"recommendation_active_users\""));
/// ```
pub fn to_json() -> String {
    // Serialising plain data with static strings cannot fail.
    serde_json::to_string(all()).unwrap_or_default()
}

/// The catalogue as the Markdown table of docs/metrics.md: name, OpenTelemetry name, type,
/// unit, labels, source — one row per metric.
///
/// # Examples
///
/// ```
/// let table = recwatch::catalogue::to_markdown();
/// assert!(table.contains("| `recommendation_requests_total` |"));
/// ```
pub fn to_markdown() -> String {
    let mut out = String::from(
        "| name | OpenTelemetry name | type | unit | labels | source |\n|---|---|---|---|---|---|\n",
    );
    for spec in all() {
        let otel = spec.otel_name.map(|n| format!("`{n}`")).unwrap_or_default();
        let unit = spec.unit.as_str();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            spec.name,
            otel,
            spec.exposition_type(),
            unit,
            spec.labels.join(", "),
            spec.source,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_valid_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for spec in all() {
            for name in std::iter::once(spec.name).chain(spec.otel_name) {
                assert!(seen.insert(name), "{name} twice");
                assert!(
                    name.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                    "{name}"
                );
            }
            assert!(!spec.help.is_empty(), "{}", spec.name);
            if spec.otel_name.is_some() {
                assert_eq!(spec.labels.len(), spec.otel_labels.len(), "{}", spec.name);
            }
            if spec.kind == MetricKind::Counter || spec.fractional {
                assert!(spec.name.ends_with("_total"), "{}", spec.name);
            }
            if let Some(b) = spec.buckets {
                assert_eq!(spec.kind, MetricKind::Histogram, "{}", spec.name);
                validate_buckets(spec.name, b).unwrap();
            }
            let unit = spec.unit.as_str();
            if matches!(spec.unit, MetricUnit::Seconds | MetricUnit::Bytes) {
                assert!(
                    spec.name.trim_end_matches("_total").ends_with(unit),
                    "{} should end in its unit {unit}",
                    spec.name
                );
            }
        }
    }

    #[test]
    fn find_and_json_cover_everything() {
        for spec in all() {
            assert_eq!(find(spec.name), Some(*spec));
        }
        let parsed: serde_json::Value = serde_json::from_str(&to_json()).unwrap();
        assert_eq!(parsed.as_array().unwrap().len(), all().len());
    }
}
