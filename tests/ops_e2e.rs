//! The operations kit end to end against real servers: a real Prometheus scrapes two instances
//! of the example service (one started with `--fail-rate 0.3`) every second, evaluates a copy of
//! `docs/prometheus/alerts.yml` with `for:` durations shortened to 1 s, and sends its alerts to a
//! real Alertmanager whose webhook receiver is a small server inside this test.
//!
//! Ignored in the plain test run: `scripts/integration-ops.sh` installs and starts Prometheus,
//! Alertmanager and the services, then runs these with `--ignored`. They fail loudly when the
//! servers are missing.
//!
//! Environment (set by the script): `RECWATCH_OPS_PROMETHEUS` (base URL),
//! `RECWATCH_OPS_SERVICE` and `RECWATCH_OPS_FAULTY_SERVICE` (`host:port` of the clean and the
//! error-injecting service, scrape jobs `recommendation_service` and
//! `recommendation_service_faulty`), `RECWATCH_OPS_WEBHOOK_ADDR` (where Alertmanager posts).

mod ops_common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;

const CLEAN_JOB: &str = "recommendation_service";
const FAULTY_JOB: &str = "recommendation_service_faulty";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run scripts/integration-ops.sh, which starts the servers")
    })
}

/// A Prometheus HTTP API client.
struct Prometheus {
    base: String,
    client: reqwest::Client,
}

impl Prometheus {
    fn from_env() -> Self {
        Prometheus {
            base: env("RECWATCH_OPS_PROMETHEUS"),
            client: reqwest::Client::new(),
        }
    }

    /// `GET /api/v1/{path}` with `params`: the whole JSON answer and the HTTP status.
    async fn get(&self, path: &str, params: &[(&str, &str)]) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}/api/v1/{path}", self.base))
            .query(params)
            .send()
            .await
            .unwrap_or_else(|e| panic!("Prometheus at {} is unreachable: {e}", self.base));
        let status = r.status().as_u16();
        (status, r.json().await.expect("Prometheus answers JSON"))
    }

    /// An instant query that must succeed; its result vector.
    async fn query(&self, q: &str) -> Vec<Value> {
        let (status, v) = self.get("query", &[("query", q)]).await;
        assert_eq!(v["status"], "success", "query `{q}` failed ({status}): {v}");
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// The value of a one-element instant vector, `None` while it is empty.
    async fn scalar(&self, q: &str) -> Option<f64> {
        let result = self.query(q).await;
        assert!(result.len() <= 1, "`{q}` has several series: {result:?}");
        result.first().map(|s| {
            s["value"][1]
                .as_str()
                .expect("sample value")
                .parse()
                .expect("numeric sample value")
        })
    }
}

/// Polls `f` every 250 ms until it returns `Some`, failing with `what` after `limit`.
async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "gave up after {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn recommend(client: &reqwest::Client, addr: &str, user: u64) -> u16 {
    client
        .post(format!("http://{addr}/recommend"))
        .json(&serde_json::json!({ "user_id": user, "k": 5 }))
        .send()
        .await
        .expect("the service answers")
        .status()
        .as_u16()
}

#[tokio::test]
#[ignore = "needs Prometheus and the example service: scripts/integration-ops.sh"]
async fn prometheus_counts_every_request_and_computes_p95() {
    let prom = Prometheus::from_env();
    let addr = env("RECWATCH_OPS_SERVICE");
    let client = reqwest::Client::new();
    const FIRST: u64 = 10;
    const N: u64 = 137;
    let count_q =
        format!(r#"sum(recommendation_requests_total{{job="{CLEAN_JOB}",endpoint="/recommend"}})"#);
    let counted = |want: u64| {
        let (prom, q) = (&prom, &count_q);
        eventually(
            Duration::from_secs(30),
            "Prometheus to see all requests",
            move || async move {
                let v = prom.scalar(q).await?;
                assert!(
                    v <= want as f64,
                    "Prometheus counted {v} requests, {want} were sent"
                );
                (v == want as f64).then_some(())
            },
        )
    };
    // Two phases, so that the second falls between scrapes of existing series and rates over
    // it are non-zero. Concurrent, in batches: every request must be counted once, whatever
    // the interleaving.
    for phase in [0..FIRST, FIRST..N] {
        let end = phase.end;
        for batch in phase.collect::<Vec<_>>().chunks(16) {
            let mut set = tokio::task::JoinSet::new();
            for &i in batch {
                let (client, addr) = (client.clone(), addr.clone());
                set.spawn(async move { recommend(&client, &addr, i).await });
            }
            while let Some(status) = set.join_next().await {
                assert_eq!(status.unwrap(), 200, "the clean service must not fail");
            }
        }
        counted(end).await;
    }
    // Other routes and statuses must not leak into /recommend's count.
    for id in [1, 999_999] {
        client
            .get(format!("http://{addr}/movies/{id}"))
            .send()
            .await
            .unwrap();
    }
    let movies_q = format!(
        r#"sum(recommendation_requests_total{{job="{CLEAN_JOB}",endpoint="/movies/{{id}}"}})"#
    );
    eventually(Duration::from_secs(30), "the /movies requests", || async {
        (prom.scalar(&movies_q).await? == 2.0).then_some(())
    })
    .await;
    assert_eq!(prom.scalar(&count_q).await, Some(N as f64));
    let by_status = prom
        .query(&format!(
            r#"sum by (status) (recommendation_requests_total{{job="{CLEAN_JOB}",endpoint="/recommend"}})"#
        ))
        .await;
    assert_eq!(by_status.len(), 1, "only 200s were sent: {by_status:?}");
    assert_eq!(by_status[0]["metric"]["status"], "200");
    let histogram_count = prom
        .scalar(&format!(
            r#"sum(recommendation_request_duration_seconds_count{{job="{CLEAN_JOB}",endpoint="/recommend"}})"#
        ))
        .await;
    assert_eq!(histogram_count, Some(N as f64));

    // p95 over the real `_bucket` series, directly and through the recording rules.
    let p95_q = format!(
        r#"histogram_quantile(0.95, sum by (le) (rate(recommendation_request_duration_seconds_bucket{{job="{CLEAN_JOB}",endpoint="/recommend"}}[1m])))"#
    );
    let p95 = eventually(Duration::from_secs(30), "a finite p95", || async {
        prom.scalar(&p95_q).await.filter(|v| v.is_finite())
    })
    .await;
    assert!(
        p95 > 0.0 && p95 <= 60.0,
        "p95 {p95} s is outside the buckets"
    );
    for rec in [
        "job:recommendation_request_duration_seconds:p95_5m",
        "job:recommendation_request_duration_seconds:mean_5m",
        // Finite only if the le="1" matcher finds the exporter's bound.
        "job:slo_latency_slow:ratio_rate5m",
        "job:slo_availability_errors:ratio_rate5m",
    ] {
        let q = format!(r#"{rec}{{job="{CLEAN_JOB}"}}"#);
        let v = eventually(
            Duration::from_secs(30),
            &format!("a value of {rec}"),
            || async { prom.scalar(&q).await.filter(|v| v.is_finite()) },
        )
        .await;
        assert!(v >= 0.0, "{rec} = {v}");
        if rec.contains("ratio") {
            assert!(v <= 1.0, "{rec} = {v}");
        }
    }
    let errors = prom
        .scalar(&format!(
            r#"job:slo_availability_errors:ratio_rate5m{{job="{CLEAN_JOB}"}}"#
        ))
        .await;
    assert_eq!(errors, Some(0.0), "the clean service answered no 5xx");
}

#[tokio::test]
#[ignore = "needs Prometheus: scripts/integration-ops.sh"]
async fn every_rule_group_loads_and_evaluates_healthy() {
    let prom = Prometheus::from_env();
    let shipped = ops_common::rules();
    let shipped_names: BTreeSet<String> = shipped.iter().map(|r| r.name.clone()).collect();
    let groups: BTreeSet<String> = shipped.iter().map(|r| r.group.clone()).collect();
    let report = eventually(
        Duration::from_secs(60),
        "every rule evaluated at least once",
        || async {
            let (_, v) = prom.get("rules", &[]).await;
            assert_eq!(v["status"], "success", "{v}");
            let loaded = v["data"]["groups"].as_array().cloned().unwrap_or_default();
            let mut unknown = 0;
            let mut names = BTreeSet::new();
            for g in &loaded {
                for r in g["rules"].as_array().into_iter().flatten() {
                    let name = r["name"].as_str().unwrap().to_owned();
                    match r["health"].as_str() {
                        Some("ok") => {}
                        Some("unknown") => unknown += 1,
                        other => panic!(
                            "rule {name} is {other:?}: {}",
                            r["lastError"].as_str().unwrap_or("")
                        ),
                    }
                    names.insert(name);
                }
            }
            (unknown == 0 && !loaded.is_empty()).then_some((loaded, names))
        },
    )
    .await;
    let (loaded, names) = report;
    let loaded_groups: BTreeSet<String> = loaded
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(loaded_groups, groups, "Prometheus loaded other groups");
    assert_eq!(names, shipped_names, "Prometheus loaded other rules");
}

#[tokio::test]
#[ignore = "needs Prometheus: scripts/integration-ops.sh"]
async fn every_rule_and_dashboard_expression_evaluates() {
    let prom = Prometheus::from_env();
    let mut exprs: Vec<(String, String)> = ops_common::rules()
        .into_iter()
        .map(|r| (format!("rule {}", r.name), r.expr))
        .collect();
    exprs.extend(
        ops_common::dashboard_queries()
            .into_iter()
            .map(|q| (q.place, ops_common::grafana_to_promql(&q.expr))),
    );
    assert!(exprs.len() > 50, "found only {} expressions", exprs.len());
    let mut failures = Vec::new();
    for (place, expr) in &exprs {
        assert!(
            !expr.contains('$'),
            "{place}: unreplaced variable in `{expr}`"
        );
        let (status, v) = prom.get("query", &[("query", expr)]).await;
        if v["status"] != "success" {
            failures.push(format!("{place} ({status}): {} in `{expr}`", v["error"]));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Metrics the example service always exports once it has served a request (the drift,
/// quality and GPU ones depend on a monitor, feedback or a GPU).
const ALWAYS_EXPORTED: &[&str] = &[
    "recommendation_requests_total",
    "recommendation_request_duration_seconds_bucket",
    "recommendation_request_duration_seconds_sum",
    "recommendation_request_duration_seconds_count",
    "recommendation_requests_in_flight",
    "recommendation_active_users",
    "system_cpu_usage_percent",
    "system_memory_usage_percent",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
];

#[tokio::test]
#[ignore = "needs Prometheus and the example service: scripts/integration-ops.sh"]
async fn dashboard_panels_on_always_exported_metrics_show_data() {
    let prom = Prometheus::from_env();
    // Traffic across a few scrapes to the faulty service, whose counts no test asserts exactly.
    let faulty = env("RECWATCH_OPS_FAULTY_SERVICE");
    let client = reqwest::Client::new();
    for round in 0..3u64 {
        for i in 0..10 {
            recommend(&client, &faulty, 1000 + round * 10 + i).await;
        }
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let queries: Vec<_> = ops_common::dashboard_queries()
        .into_iter()
        .filter(|q| {
            ops_common::scan(&q.expr)
                .metrics
                .iter()
                .all(|m| m.contains(':') || ALWAYS_EXPORTED.contains(&m.as_str()))
        })
        .collect();
    assert!(queries.len() >= 15, "only {} such queries", queries.len());
    for q in &queries {
        let expr = ops_common::grafana_to_promql(&q.expr);
        eventually(
            Duration::from_secs(30),
            &format!("{}: data for `{expr}`", q.place),
            || async { (!prom.query(&expr).await.is_empty()).then_some(()) },
        )
        .await;
    }
}

#[tokio::test]
#[ignore = "needs Prometheus, Alertmanager and the example service: scripts/integration-ops.sh"]
async fn high_error_rate_fires_and_reaches_the_webhook_through_alertmanager() {
    use axum::routing::post;

    let prom = Prometheus::from_env();
    let faulty = env("RECWATCH_OPS_FAULTY_SERVICE");
    let webhook_addr = env("RECWATCH_OPS_WEBHOOK_ADDR");

    // The webhook receiver Alertmanager was configured with.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let app = axum::Router::new().route(
        "/alerts",
        post(move |axum::Json(body): axum::Json<Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(&webhook_addr)
        .await
        .unwrap_or_else(|e| panic!("bind the webhook receiver on {webhook_addr}: {e}"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    // Steady traffic to the error-injecting service until the alert arrives.
    let traffic = tokio::spawn({
        let faulty = faulty.clone();
        async move {
            let client = reqwest::Client::new();
            for i in 0u64.. {
                let s = recommend(&client, &faulty, i).await;
                assert!(s == 200 || s == 500, "unexpected status {s}");
                if i % 20 == 19 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });

    let deadline = Instant::now() + Duration::from_secs(120);
    let alert = loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let body = tokio::time::timeout(remaining, rx.recv())
            .await
            .expect("HighErrorRate did not reach the webhook within 120 s")
            .expect("webhook channel open");
        let alerts = body["alerts"].as_array().cloned().unwrap_or_default();
        for a in &alerts {
            if a["labels"]["alertname"] == "HighErrorRate" {
                assert_eq!(
                    a["labels"]["job"], FAULTY_JOB,
                    "HighErrorRate fired for the clean service: {a}"
                );
            }
        }
        if let Some(a) = alerts
            .into_iter()
            .find(|a| a["labels"]["alertname"] == "HighErrorRate" && a["status"] == "firing")
        {
            break a;
        }
    };
    assert!(!traffic.is_finished(), "the traffic task stopped early");
    traffic.abort();
    assert_eq!(alert["labels"]["severity"], "critical");
    let description = alert["annotations"]["description"].as_str().unwrap();
    assert!(description.contains(FAULTY_JOB), "{description}");

    // Prometheus agrees: firing for the faulty job only, with about 30 % errors.
    let firing = prom
        .query(r#"ALERTS{alertname="HighErrorRate",alertstate="firing"}"#)
        .await;
    let jobs: Vec<&str> = firing
        .iter()
        .map(|s| s["metric"]["job"].as_str().unwrap())
        .collect();
    assert_eq!(jobs, [FAULTY_JOB]);
    let ratio = prom
        .scalar(&format!(
            r#"job:recommendation_requests_5xx:ratio_rate5m{{job="{FAULTY_JOB}"}}"#
        ))
        .await
        .expect("error ratio of the faulty job");
    assert!((0.2..=0.4).contains(&ratio), "error ratio {ratio}");

    // --fail-rate is exact: of the first N valid requests the service answered, ⌊0.3·N⌋
    // failed, whichever client sent them. Holds once Prometheus has scraped a quiet moment.
    let q = format!(
        r#"sum by (status) (recommendation_requests_total{{job="{FAULTY_JOB}",endpoint="/recommend"}})"#
    );
    eventually(
        Duration::from_secs(30),
        "an exact 30 % share of 500s",
        || async {
            let (mut ok, mut failed) = (0.0, 0.0);
            for s in prom.query(&q).await {
                let v: f64 = s["value"][1].as_str()?.parse().ok()?;
                match s["metric"]["status"].as_str()? {
                    "200" => ok += v,
                    "500" => failed += v,
                    other => panic!("unexpected status {other}"),
                }
            }
            let total: f64 = ok + failed;
            (total >= 30.0 && failed == (total * 0.3).floor()).then_some(())
        },
    )
    .await;
}
