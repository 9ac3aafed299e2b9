//! The dashboard in Prometheus mode against a real Prometheus scraping two replicas of the
//! example service: replica A's request-rate panel must agree with Prometheus's own query.
//!
//! Ignored in the plain test run: `scripts/integration-dashboard.sh` starts Prometheus (Debian
//! `prometheus`, its own port and tsdb dir) and the two replicas (A with `--prometheus-url`),
//! then runs this with `--ignored`. It fails loudly when they are missing.

use std::time::{Duration, Instant};

use serde_json::Value;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run scripts/integration-dashboard.sh, which starts Prometheus and the replicas")
    })
}

async fn prom(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    params: &[(&str, String)],
) -> Value {
    let resp = client
        .get(format!("{base}/api/v1/{path}"))
        .query(params)
        .send()
        .await
        .unwrap_or_else(|e| panic!("Prometheus at {base} does not answer: {e}"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "success", "{body}");
    body
}

async fn instant(client: &reqwest::Client, base: &str, query: &str) -> Vec<(String, f64)> {
    let body = prom(client, base, "query", &[("query", query.to_owned())]).await;
    body["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["metric"]["instance"].as_str().unwrap_or("").to_owned(),
                r["value"][1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

async fn send(client: &reqwest::Client, base: &str, n: u64) {
    for i in 0..n {
        let r = client
            .post(format!("{base}/recommend"))
            .json(&serde_json::json!({ "user_id": i, "k": 10 }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}

#[tokio::test]
#[ignore = "needs Prometheus and two example replicas: scripts/integration-dashboard.sh"]
async fn prometheus_mode_request_rate_agrees_with_prometheus() {
    let prometheus = env("RECWATCH_PROMETHEUS_URL");
    let replicas: Vec<String> = env("RECWATCH_DASHBOARD_REPLICAS")
        .split(',')
        .map(str::to_owned)
        .collect();
    assert_eq!(replicas.len(), 2, "want two replicas");
    let client = reqwest::Client::new();

    // Different loads on the two replicas, so the fleet total is neither one of them, spread
    // over several dashboard steps (5 s at the 15 min range) so that there are points to compare.
    for _ in 0..8 {
        send(&client, &replicas[0], 20).await;
        send(&client, &replicas[1], 60).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    }

    // Wait until Prometheus has scraped everything that was sent (1 s scrape interval).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let per_instance = instant(
            &client,
            &prometheus,
            "sum by (instance) (recommendation_requests_total)",
        )
        .await;
        let total: f64 = per_instance.iter().map(|(_, v)| v).sum();
        if per_instance.len() == 2 && total >= 640.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus did not scrape both replicas: {per_instance:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Two more scrapes, so the points compared below are final.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let data: Value = client
        .get(format!("{}/dashboard/data.json?range=15m", replicas[0]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let view = &data["view"];
    assert_eq!(view["source"], "prometheus", "{}", view["notice"]);
    assert!(view["notice"].is_null(), "{}", view["notice"]);
    let (start, end, step) = (
        view["start"].as_f64().unwrap(),
        view["end"].as_f64().unwrap(),
        view["step"].as_f64().unwrap(),
    );
    assert!(data["panels"]["chart-requests"]
        .as_str()
        .unwrap()
        .starts_with("<svg"));

    // Prometheus's own query, written independently: requests in the last minute, fleet-wide.
    let body = prom(
        &client,
        &prometheus,
        "query_range",
        &[
            (
                "query",
                "sum(increase(recommendation_requests_total[60s]))".to_owned(),
            ),
            ("start", format!("{start}")),
            ("end", format!("{end}")),
            ("step", format!("{step}")),
        ],
    )
    .await;
    let theirs: Vec<(f64, f64)> = body["data"]["result"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_f64().unwrap(),
                p[1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    let ours: Vec<(f64, Option<f64>)> = view["series"]["requests_per_min"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64()))
        .collect();
    let mut compared = 0;
    let mut peak: f64 = 0.0;
    for (t, v) in &theirs {
        // The newest points may still change with the next scrape.
        if *t > end - 2.0 * step {
            continue;
        }
        let mine = ours
            .iter()
            .find(|(u, _)| (u - t).abs() < 1e-6)
            .unwrap_or_else(|| panic!("no dashboard point at {t}: {ours:?}"))
            .1
            .unwrap_or_else(|| panic!("dashboard has no value at {t}, Prometheus has {v}"));
        assert!(
            (mine - v).abs() <= 1e-6 * v.abs().max(1.0),
            "at {t}: dashboard {mine} req/min, Prometheus {v}"
        );
        peak = peak.max(*v);
        compared += 1;
    }
    assert!(compared >= 3, "only {compared} points compared: {theirs:?}");
    // Both replicas' traffic is in the fleet's rate.
    let per_instance = instant(
        &client,
        &prometheus,
        "sum by (instance) (increase(recommendation_requests_total[15m]))",
    )
    .await;
    assert_eq!(per_instance.len(), 2, "{per_instance:?}");
    assert!(
        per_instance.iter().all(|(_, v)| *v > 0.0),
        "{per_instance:?}"
    );
    assert!(peak > 0.0, "no traffic in the compared points");

    // The key number is the fleet's too (extrapolation at the newest edge may move it a little).
    let rpm = view["numbers"]["requests_per_min"].as_f64().unwrap();
    let reference = instant(
        &client,
        &prometheus,
        "sum(rate(recommendation_requests_total[5m])) * 60",
    )
    .await;
    let reference = reference[0].1;
    assert!(
        (rpm - reference).abs() <= 0.1 * reference,
        "dashboard {rpm} req/min, Prometheus {reference}"
    );
    eprintln!(
        "compared {compared} points; peak {peak:.1} req/min; key number {rpm:.1} vs {reference:.1}"
    );
}
