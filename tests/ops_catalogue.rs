//! One source of truth: the shipped alert rules (`docs/prometheus/`) and Grafana dashboards
//! (`docs/grafana/`) name only metrics and labels of the metric catalogue, every alert has
//! promtool tests that make it fire and keep it silent, and the dashboards are importable.
//!
//! promtool itself runs these rules in `scripts/integration-ops.sh`; this file needs no server.

mod ops_common;

use std::collections::BTreeSet;

use ops_common::{dashboard_queries, dashboards, panels, rules, scan, Checker};

#[test]
fn rules_and_dashboards_name_only_catalogued_metrics_and_labels() {
    let rules = rules();
    assert!(rules.len() > 20, "rules were not found: {}", rules.len());
    let checker = Checker::new(&rules);
    let mut problems = Vec::new();
    for r in &rules {
        for p in checker.check(&r.expr) {
            problems.push(format!("{} rule {}: {p}", r.file, r.name));
        }
        if r.alert {
            for p in checker.check_templates(&r.expr, &r.templates) {
                problems.push(format!("{} alert {}: {p}", r.file, r.name));
            }
        }
    }
    let queries = dashboard_queries();
    assert!(queries.len() > 20, "dashboard queries were not found");
    for q in &queries {
        for p in checker.check(&q.expr) {
            problems.push(format!("{}: {p} in `{}`", q.place, q.expr));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn checker_reports_unknown_metrics_labels_and_records() {
    let checker = Checker::new(&[]);
    // A typo in the metric name (the original design's `status="error"` had a label value
    // problem; names and label keys are what the catalogue can vouch for).
    let p = checker.check(r#"sum(rate(recommendation_request_total{status="500"}[5m]))"#);
    assert_eq!(
        p,
        [
            "metric recommendation_request_total is not in the catalogue",
            "label status is on none of its metrics"
        ]
    );
    let p = checker.check("sum by (route) (rate(recommendation_requests_total[5m]))");
    assert_eq!(p, ["label route is on none of its metrics"]);
    // `le` belongs to `_bucket` series only.
    let p = checker.check("sum by (le) (rate(recommendation_request_duration_seconds_count[5m]))");
    assert_eq!(p, ["label le is on none of its metrics"]);
    let p = checker.check("job:nothing:rate5m > 1");
    assert_eq!(p, ["recording rule job:nothing:rate5m is not defined"]);
    assert!(checker
        .check(r#"histogram_quantile(0.95, sum by (job, le) (rate(recommendation_request_duration_seconds_bucket{endpoint="/recommend"}[5m])))"#)
        .is_empty());
    assert_eq!(
        checker.check_templates("up == 0", &["{{ $labels.pod }} is down".into()]),
        ["template uses label pod, which no metric carries"]
    );
}

#[test]
fn scanner_separates_metrics_labels_functions_and_keywords() {
    let s = scan(
        r#"sum without (instance) (rate(a_total{x="1",y=~"b|c"}[5m] offset 1h)) / on (job) group_left (z)
           max by (job) (b) > bool 0.5 and c or absent(d{e!="{f}"}) unless 1e3 + $__rate_interval"#,
    );
    let m: BTreeSet<String> = ["a_total", "b", "c", "d"].map(String::from).into();
    let l: BTreeSet<String> = ["e", "instance", "job", "x", "y", "z"]
        .map(String::from)
        .into();
    assert_eq!(s.metrics, m);
    assert_eq!(s.labels, l);
}

#[test]
fn original_alerts_exist_and_every_alert_is_tested_both_ways() {
    let rules = rules();
    let alerts: BTreeSet<&str> = rules
        .iter()
        .filter(|r| r.alert)
        .map(|r| r.name.as_str())
        .collect();
    for name in [
        "HighErrorRate",
        "HighResponseTime",
        "ModelDriftDetected",
        "LowRecommendationQuality",
        "SLOAvailabilityBurnRateCritical",
        "SLOAvailabilityBurnRateWarning",
        "SLOLatencyBurnRateCritical",
        "SLOLatencyBurnRateWarning",
        "InferenceHighLatency",
        "InferenceErrors",
        "GPUMemoryHigh",
        "GPUSaturated",
        "GPUSamplerUnavailable",
        "RecommendationServiceDown",
    ] {
        assert!(alerts.contains(name), "alert {name} is missing");
    }
    let high_error = rules.iter().find(|r| r.name == "HighErrorRate").unwrap();
    assert_eq!(high_error.for_.as_deref(), Some("2m"));

    // Every alert: a promtool case where it fires and one where it stays silent.
    let mut fires = BTreeSet::new();
    let mut silent = BTreeSet::new();
    let test_files = ops_common::files("docs/prometheus", ".yml")
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains("test"))
        .collect::<Vec<_>>();
    assert!(!test_files.is_empty(), "no promtool test files");
    for path in test_files {
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for test in doc["tests"].as_sequence().expect("tests") {
            for case in test["alert_rule_test"].as_sequence().into_iter().flatten() {
                let name = case["alertname"].as_str().unwrap().to_owned();
                let expected = case["exp_alerts"].as_sequence().map_or(0, |s| s.len());
                if expected > 0 {
                    fires.insert(name);
                } else {
                    silent.insert(name);
                }
            }
        }
    }
    for a in &alerts {
        assert!(fires.contains(*a), "no promtool case where {a} fires");
        assert!(
            silent.contains(*a),
            "no promtool case where {a} stays silent"
        );
    }
    for a in fires.union(&silent) {
        assert!(
            alerts.contains(a.as_str()),
            "promtool tests name unknown alert {a}"
        );
    }
}

#[test]
fn dashboards_are_importable_with_a_datasource_variable_and_rows() {
    let all = dashboards();
    assert!(!all.is_empty(), "no dashboards under docs/grafana");
    for (file, d) in &all {
        assert!(
            d["schemaVersion"].as_u64().unwrap_or(0) >= 36,
            "{file}: schemaVersion"
        );
        assert!(
            d["uid"].as_str().is_some_and(|u| !u.is_empty()),
            "{file}: uid"
        );
        assert!(d["id"].is_null(), "{file}: id must be null for import");
        let vars = d["templating"]["list"].as_array().expect("templating");
        let ds = vars
            .iter()
            .find(|v| v["type"] == "datasource")
            .unwrap_or_else(|| panic!("{file}: no datasource variable"));
        assert_eq!(ds["query"], "prometheus", "{file}");
        let ds_ref = format!("${{{}}}", ds["name"].as_str().unwrap());

        let mut seen_row = false;
        let mut rows = 0;
        for p in panels(d) {
            let title = p["title"].as_str().unwrap_or_default();
            if p["type"] == "row" {
                seen_row = true;
                rows += 1;
                continue;
            }
            assert!(seen_row, "{file}: panel {title} is above the first row");
            assert_eq!(p["datasource"]["uid"], ds_ref.as_str(), "{file}: {title}");
            let targets = p["targets"].as_array().expect("targets");
            assert!(!targets.is_empty(), "{file}: {title} has no query");
            for t in targets {
                assert_eq!(t["datasource"]["uid"], ds_ref.as_str(), "{file}: {title}");
            }
        }
        assert!(rows >= 5, "{file}: one row per concern, found {rows}");
    }

    // The original dashboard's panels, and the SLO burn rates.
    let titles: Vec<String> = all
        .iter()
        .flat_map(|(_, d)| panels(d))
        .filter_map(|p| p["title"].as_str())
        .map(str::to_lowercase)
        .collect();
    for want in [
        "request rate",
        "average response time",
        "p95 response time",
        "error rate",
        "active users",
        "cpu",
        "memory",
        "gpu",
        "quality score",
        "inference time distribution",
        "drift score",
        "availability burn rate",
        "latency burn rate",
    ] {
        assert!(
            titles.iter().any(|t| t.contains(want)),
            "no panel titled like {want:?}"
        );
    }
}
