//! The dashboard through the public API: a real sampler thread over a local recorder, the page
//! and its JSON through the router.
#![cfg(feature = "dashboard")]

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use recwatch::dashboard::DashboardBuilder;
use recwatch::exporter::ExporterBuilder;
use tower::ServiceExt;

async fn get(router: &axum::Router, uri: &str) -> (StatusCode, String) {
    let resp = router
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 22)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn sampled_traffic_reaches_the_page() {
    let (recorder, metrics) = ExporterBuilder::new().build();
    let (dashboard, sampling) = DashboardBuilder::new(metrics)
        .with_step(Duration::from_secs(1))
        .with_retention(Duration::from_secs(900))
        .spawn()
        .unwrap();
    let router: axum::Router = dashboard.router();
    let record = || {
        metrics::with_local_recorder(&recorder, || {
            for _ in 0..50 {
                metrics::counter!("recommendation_requests_total", "status" => "200").increment(1);
                metrics::histogram!("recommendation_request_duration_seconds", "status" => "200")
                    .record(0.03);
                metrics::histogram!("model_inference_duration_seconds", "model" => "m")
                    .record(0.004);
            }
            metrics::gauge!("system_cpu_usage_percent").set(12.0);
            metrics::gauge!("system_memory_usage_percent").set(34.0);
            metrics::gauge!("recommendation_quality_score").set(0.8);
        })
    };
    // Record until the sampler has taken samples on both sides of some traffic.
    let deadline = Instant::now() + Duration::from_secs(30);
    let json = loop {
        record();
        let (status, body) = get(&router, "/dashboard/data.json").await;
        assert_eq!(status, StatusCode::OK);
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        let has_rate = json["view"]["series"]["requests_per_min"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p[1].as_f64().is_some_and(|v| v > 0.0));
        if has_rate && !json["panels"]["chart-quality"].is_null() {
            break json;
        }
        assert!(Instant::now() < deadline, "no sampled traffic: {json}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(json["view"]["source"], "embedded");
    assert!(
        json["view"]["notice"].is_null(),
        "{}",
        json["view"]["notice"]
    );
    assert_eq!(json["text"]["kpi-response-time"], "30.0 ms");
    let (status, html) = get(&router, "/dashboard?range=6h").await;
    assert_eq!(status, StatusCode::OK);
    // Requests, response time, errors, CPU/memory, inference and quality are drawn.
    assert!(html.matches("<svg").count() >= 6, "{html}");
    // 6 h is more than this store keeps: the page says so.
    assert!(html.contains("keeps 15 min of samples"), "{html}");
    assert!(dashboard.memory_bytes() > 0);
    sampling.shutdown(Duration::from_secs(5)).unwrap();
}
