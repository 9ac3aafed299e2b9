//! Helpers of the operations-kit tests: loading the shipped alert rules and Grafana dashboards,
//! and a small PromQL scanner that lists the metric and label names an expression uses.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use recwatch::catalogue::{self, MetricKind, Naming};

/// A path inside the repository.
pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Files of `dir` (relative to the repository) whose name ends with `suffix`, sorted.
pub fn files(dir: &str, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(repo_path(dir))
        .unwrap_or_else(|e| panic!("read {dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    out.sort();
    out
}

/// One recording or alerting rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Rule file it comes from.
    pub file: String,
    /// Group name.
    pub group: String,
    /// `record:` or `alert:` name.
    pub name: String,
    /// An alerting rule (else a recording rule).
    pub alert: bool,
    /// The PromQL expression.
    pub expr: String,
    /// `for:` duration as written, if any.
    pub for_: Option<String>,
    /// `labels:` and `annotations:` values (templates).
    pub templates: Vec<String>,
}

/// The rule files under `docs/prometheus/` (every `.yml` with a `groups:` key, so not the
/// promtool tests, the Prometheus configuration or the Alertmanager configuration).
pub fn rule_files() -> Vec<PathBuf> {
    files("docs/prometheus", ".yml")
        .into_iter()
        .filter(|p| {
            let v: serde_yaml::Value =
                serde_yaml::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            v.get("groups").is_some()
        })
        .collect()
}

/// Every rule of every rule file.
pub fn rules() -> Vec<Rule> {
    let mut out = Vec::new();
    for path in rule_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for group in doc["groups"].as_sequence().expect("groups is a list") {
            let gname = group["name"].as_str().expect("group name").to_owned();
            for rule in group["rules"].as_sequence().expect("rules is a list") {
                let (name, alert) = match (rule["alert"].as_str(), rule["record"].as_str()) {
                    (Some(a), None) => (a, true),
                    (None, Some(r)) => (r, false),
                    _ => panic!("{file}: a rule needs exactly one of alert and record"),
                };
                let mut templates = Vec::new();
                for key in ["labels", "annotations"] {
                    if let Some(map) = rule[key].as_mapping() {
                        templates.extend(map.values().filter_map(|v| v.as_str()).map(String::from));
                    }
                }
                out.push(Rule {
                    file: file.clone(),
                    group: gname.clone(),
                    name: name.to_owned(),
                    alert,
                    expr: rule["expr"].as_str().expect("expr").trim().to_owned(),
                    for_: rule["for"].as_str().map(String::from),
                    templates,
                });
            }
        }
    }
    out
}

/// A query of a dashboard: where it is and its PromQL text as written (with Grafana variables).
#[derive(Debug, Clone)]
pub struct DashboardQuery {
    /// Dashboard file and panel title (or variable name).
    pub place: String,
    /// The expression.
    pub expr: String,
}

/// The parsed dashboards under `docs/grafana/`.
pub fn dashboards() -> Vec<(String, serde_json::Value)> {
    files("docs/grafana", ".json")
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let v = serde_json::from_str(&std::fs::read_to_string(&p).unwrap())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, v)
        })
        .collect()
}

/// Every panel of a dashboard, rows' nested panels included.
pub fn panels(dashboard: &serde_json::Value) -> Vec<&serde_json::Value> {
    fn walk<'a>(ps: &'a serde_json::Value, out: &mut Vec<&'a serde_json::Value>) {
        for p in ps.as_array().into_iter().flatten() {
            out.push(p);
            walk(&p["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// Every PromQL expression of every dashboard: panel targets, and the metric selector of
/// `label_values(metric, label)` variables (returned as `metric` alone, with the label in `by`).
pub fn dashboard_queries() -> Vec<DashboardQuery> {
    let mut out = Vec::new();
    for (file, d) in dashboards() {
        for p in panels(&d) {
            for t in p["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = t["expr"].as_str() {
                    out.push(DashboardQuery {
                        place: format!("{file}: {}", p["title"].as_str().unwrap_or("?")),
                        expr: expr.to_owned(),
                    });
                }
            }
        }
        for v in d["templating"]["list"].as_array().into_iter().flatten() {
            let q = v["query"]["query"].as_str().or_else(|| v["query"].as_str());
            if let (Some("query"), Some(q)) = (v["type"].as_str(), q) {
                let place = format!("{file}: variable {}", v["name"].as_str().unwrap_or("?"));
                let inner = q
                    .trim()
                    .strip_prefix("label_values(")
                    .and_then(|r| r.strip_suffix(')'))
                    .unwrap_or_else(|| panic!("{place}: only label_values(metric, label) queries"));
                let (metric, label) = inner.rsplit_once(',').expect("label_values(metric, label)");
                out.push(DashboardQuery {
                    place,
                    expr: format!("count by ({}) ({})", label.trim(), metric.trim()),
                });
            }
        }
    }
    out
}

/// A dashboard expression with Grafana's variables replaced so Prometheus can evaluate it.
pub fn grafana_to_promql(expr: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$__interval", "1m")
        .replace("$__range", "1h")
        .replace("\"$job\"", "\".+\"")
}

/// Metric and label names used by a PromQL expression.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scan {
    /// Metric (or recording rule) names.
    pub metrics: BTreeSet<String>,
    /// Label names in matchers and in `by`/`without`/`on`/`ignoring`/`group_*` lists.
    pub labels: BTreeSet<String>,
}

const AGGREGATIONS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
];
const LABEL_LISTS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];
const KEYWORDS: &[&str] = &[
    "and", "or", "unless", "bool", "offset", "inf", "nan", "atan2",
];

/// Lists the metric and label names of `expr`. A simple tokenizer: strings, range/subquery
/// brackets, numbers, durations and Grafana `$variables` are skipped; an identifier followed
/// by `(` is a function; aggregation operators and binary keywords are not metrics.
pub fn scan(expr: &str) -> Scan {
    let b = expr.as_bytes();
    let mut out = Scan::default();
    let mut i = 0;
    let ident_start = |c: u8| c.is_ascii_alphabetic() || c == b'_' || c == b':';
    let ident_char = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b':';
    let skip_ws = |mut j: usize| {
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        j
    };
    let skip_string = |j: usize| {
        let q = b[j];
        let mut k = j + 1;
        while k < b.len() && b[k] != q {
            if b[k] == b'\\' && q != b'`' {
                k += 1;
            }
            k += 1;
        }
        k + 1
    };
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'"' || c == b'\'' || c == b'`' {
            i = skip_string(i);
        } else if c == b'[' {
            while i < b.len() && b[i] != b']' {
                i += 1;
            }
            i += 1;
        } else if c == b'{' {
            // Label matchers: name op "value", ...
            i += 1;
            loop {
                i = skip_ws(i);
                if i >= b.len() || b[i] == b'}' {
                    i += 1;
                    break;
                }
                if b[i] == b',' {
                    i += 1;
                } else if ident_start(b[i]) {
                    let s = i;
                    while i < b.len() && ident_char(b[i]) {
                        i += 1;
                    }
                    out.labels.insert(expr[s..i].to_owned());
                } else if b[i] == b'"' || b[i] == b'\'' || b[i] == b'`' {
                    i = skip_string(i);
                } else {
                    i += 1;
                }
            }
        } else if c == b'$' {
            i += 1;
            if i < b.len() && b[i] == b'{' {
                while i < b.len() && b[i] != b'}' {
                    i += 1;
                }
                i += 1;
            }
            while i < b.len() && ident_char(b[i]) {
                i += 1;
            }
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_') {
                i += 1;
            }
        } else if ident_start(c) {
            let s = i;
            while i < b.len() && ident_char(b[i]) {
                i += 1;
            }
            let word = &expr[s..i];
            let lower = word.to_ascii_lowercase();
            let next = skip_ws(i);
            if LABEL_LISTS.contains(&lower.as_str()) {
                if b.get(next) == Some(&b'(') {
                    let close = expr[next..].find(')').map_or(b.len(), |k| next + k);
                    for l in expr[next + 1..close].split(',') {
                        let l = l.trim();
                        if !l.is_empty() {
                            out.labels.insert(l.to_owned());
                        }
                    }
                    i = close + 1;
                }
            } else if AGGREGATIONS.contains(&lower.as_str())
                || KEYWORDS.contains(&lower.as_str())
                || b.get(next) == Some(&b'(')
            {
                // An operator or a function.
            } else {
                out.metrics.insert(word.to_owned());
            }
        } else {
            i += 1;
        }
    }
    out
}

/// Series Prometheus makes itself that rules may name.
pub const PROMETHEUS_SERIES: &[&str] = &["up"];
/// Labels every scraped series has (target labels) or that the exporter puts on every series
/// (`ExporterBuilder::with_service`, `with_version`, `with_model_version`).
pub const UNIVERSAL_LABELS: &[&str] = &[
    "job",
    "instance",
    "__name__",
    "service",
    "version",
    "model_version",
];

/// Checks expressions against the catalogue, knowing the recording rules defined beside them.
pub struct Checker {
    /// Recording rule name -> labels its series may carry.
    records: BTreeMap<String, BTreeSet<String>>,
}

impl Checker {
    /// A checker aware of `rules`' recording rules.
    pub fn new(rules: &[Rule]) -> Self {
        let mut checker = Checker {
            records: BTreeMap::new(),
        };
        // Recording rules may build on each other: resolve in file order.
        for r in rules.iter().filter(|r| !r.alert) {
            let (labels, _) = checker.allowed_labels(&r.expr);
            checker.records.insert(r.name.clone(), labels);
        }
        checker
    }

    /// Labels the series of `expr` may carry, and the problems with its metric names.
    fn allowed_labels(&self, expr: &str) -> (BTreeSet<String>, Vec<String>) {
        let scan = scan(expr);
        let mut allowed: BTreeSet<String> =
            UNIVERSAL_LABELS.iter().map(|s| s.to_string()).collect();
        let mut problems = Vec::new();
        for m in &scan.metrics {
            if PROMETHEUS_SERIES.contains(&m.as_str()) {
                continue;
            }
            if m.contains(':') {
                match self.records.get(m) {
                    Some(labels) => allowed.extend(labels.iter().cloned()),
                    None => problems.push(format!("recording rule {m} is not defined")),
                }
                continue;
            }
            match resolve(m) {
                Some((labels, is_bucket)) => {
                    allowed.extend(labels.iter().map(|s| s.to_string()));
                    if is_bucket {
                        allowed.insert("le".into());
                    }
                }
                None => problems.push(format!("metric {m} is not in the catalogue")),
            }
        }
        (allowed, problems)
    }

    /// Every problem of `expr`: unknown metrics and labels no metric of it carries.
    pub fn check(&self, expr: &str) -> Vec<String> {
        let (allowed, mut problems) = self.allowed_labels(expr);
        for l in scan(expr).labels {
            if !allowed.contains(&l) {
                problems.push(format!("label {l} is on none of its metrics"));
            }
        }
        problems
    }

    /// Every problem of `$labels.x` references in `templates` for an alert over `expr`.
    pub fn check_templates(&self, expr: &str, templates: &[String]) -> Vec<String> {
        let (allowed, _) = self.allowed_labels(expr);
        let mut problems = Vec::new();
        for t in templates {
            for (k, _) in t.match_indices("$labels.") {
                let rest = &t[k + "$labels.".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !allowed.contains(&name) {
                    problems.push(format!(
                        "template uses label {name}, which no metric carries"
                    ));
                }
            }
        }
        problems
    }
}

/// The label keys of a series name in the naming scheme it belongs to (`x_bucket`, `x_sum`,
/// `x_count` of a histogram `x` resolve to `x`), and whether it is a `_bucket` series.
pub fn resolve(name: &str) -> Option<(&'static [&'static str], bool)> {
    let labels = |spec: &'static catalogue::MetricSpec, base: &str| {
        if spec.name == base {
            spec.labels_in(Naming::Recwatch)
        } else {
            spec.labels_in(Naming::OpenTelemetry)
        }
    };
    if let Some(spec) = catalogue::find(name) {
        return Some((labels(spec, name), false));
    }
    for suffix in ["_bucket", "_sum", "_count"] {
        if let Some(base) = name.strip_suffix(suffix) {
            if let Some(spec) = catalogue::find(base).filter(|s| s.kind == MetricKind::Histogram) {
                return Some((labels(spec, base), suffix == "_bucket"));
            }
        }
    }
    None
}
