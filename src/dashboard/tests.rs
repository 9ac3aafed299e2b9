//! Router, authentication and sampler tests (no network beyond loopback, no timed assertions).

use super::*;
use crate::catalogue::{INFERENCE_DURATION_SECONDS, REQUESTS_TOTAL, REQUEST_DURATION_SECONDS};
use axum::body::Body;
use axum::http::Request;
use tower::ServiceExt;

fn built(
    builder: impl FnOnce(DashboardBuilder) -> DashboardBuilder,
) -> (
    Dashboard,
    DashboardSampler,
    crate::exporter::RecwatchRecorder,
    MetricsHandle,
) {
    let (recorder, metrics) = crate::exporter::ExporterBuilder::new().build();
    let (dashboard, sampler) = builder(DashboardBuilder::new(metrics.clone()))
        .build()
        .unwrap();
    (dashboard, sampler, recorder, metrics)
}

/// Records traffic through `recorder` and samples the store at `t0` and `t0 + 60`.
fn traffic(
    dashboard: &Dashboard,
    recorder: &crate::exporter::RecwatchRecorder,
    metrics: &MetricsHandle,
) {
    let t0 = now() - 60.0;
    let sample = |t| {
        let mut ring = dashboard.inner.store.ring();
        let mut bounds = ring.bounds.clone();
        let s = series::read(metrics, t, &mut bounds);
        ring.bounds = bounds;
        ring.push(s);
    };
    sample(t0);
    metrics::with_local_recorder(recorder, || {
        for i in 0..120 {
            let status = if i % 40 == 0 { "500" } else { "200" };
            metrics::counter!(REQUESTS_TOTAL.name, "status" => status).increment(1);
            metrics::histogram!(REQUEST_DURATION_SECONDS.name, "status" => status).record(0.02);
            metrics::histogram!(INFERENCE_DURATION_SECONDS.name, "model" => "m").record(0.008);
        }
        metrics::gauge!(crate::catalogue::SYSTEM_CPU_USAGE_PERCENT.name).set(25.0);
        metrics::gauge!(crate::catalogue::SYSTEM_MEMORY_USAGE_PERCENT.name).set(50.0);
    });
    sample(t0 + 60.0);
    dashboard.inner.store.running.store(true, Ordering::Relaxed);
}

async fn get_req(
    router: &Router,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, String) {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 22)
        .await
        .unwrap();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn page_and_data_show_the_recorded_traffic() {
    let (dashboard, _sampler, recorder, metrics) = built(|b| b);
    traffic(&dashboard, &recorder, &metrics);
    let router: Router = dashboard.router();
    let (status, headers, html) = get_req(&router, "/dashboard?range=1h", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
    assert!(html.contains(r#"aria-current="page">1h<"#), "{html}");
    // 120 requests in 60 s; 3 of them 500s; 20 ms each.
    assert!(html.contains(r#"id="kpi-requests">120<"#), "{html}");
    assert!(html.contains(r#"id="kpi-error-rate">2.50 %<"#), "{html}");
    assert!(
        html.contains(r#"id="kpi-response-time">20.0 ms<"#),
        "{html}"
    );
    // Requests, response time, errors, CPU/memory and inference are drawn.
    assert_eq!(html.matches("<svg").count(), 5, "{html}");
    assert!(html.contains("120 calls in this range"), "{html}");
    let (status, _, html) = get_req(&router, "/dashboard/", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Inference time distribution"));
    let (status, headers, json) = get_req(&router, "/dashboard/data.json?range=15m", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["view"]["range"], "15m");
    assert_eq!(json["view"]["source"], "embedded");
    let rpm = &json["view"]["series"]["requests_per_min"];
    assert_eq!(rpm.as_array().unwrap().len(), 1);
    assert!((rpm[0][1].as_f64().unwrap() - 120.0).abs() < 1e-9);
    assert!(json["panels"]["chart-response-time"]
        .as_str()
        .unwrap()
        .starts_with("<svg"));
    assert!(json["panels"]["chart-quality"].is_null());
}

#[tokio::test]
async fn an_unstarted_sampler_is_reported_on_the_page() {
    let (dashboard, _sampler, _recorder, _metrics) = built(|b| b.with_path("ops/"));
    assert_eq!(dashboard.path(), "/ops");
    let (status, _, html) = get_req(&dashboard.router(), "/ops", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("sampler is not running"), "{html}");
    assert_eq!(html.matches("<svg").count(), 0);
}

#[tokio::test]
async fn bearer_token_protects_page_and_data_and_the_form_sets_a_cookie() {
    let (dashboard, _s, _r, _m) = built(|b| b.with_bearer_token("s3 cr&t"));
    let router: Router = dashboard.router();
    let (status, _, html) = get_req(&router, "/dashboard", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(html.contains(r#"action="/dashboard/login""#));
    assert!(!html.contains("Requests / min"));
    let (status, _, _) = get_req(&router, "/dashboard/data.json", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = get_req(
        &router,
        "/dashboard/data.json",
        &[("authorization", "Bearer s3 cr&t")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = get_req(&router, "/dashboard", &[("authorization", "Bearer nope")]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let login = |body: &'static str| {
        let router = router.clone();
        async move {
            router
                .oneshot(
                    Request::post("/dashboard/login")
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(Body::from(body))
                        .unwrap(),
                )
                .await
                .unwrap()
        }
    };
    assert_eq!(
        login("token=wrong").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(login("token=%ZZ%").await.status(), StatusCode::UNAUTHORIZED);
    let ok = login("token=s3+cr%26t").await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(ok.headers()[header::LOCATION], "/dashboard");
    let cookie = ok.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Path=/dashboard")
    );
    let pair = cookie.split(';').next().unwrap().to_owned();
    let (status, _, html) = get_req(
        &router,
        "/dashboard",
        &[("cookie", &format!("other=1; {pair}"))],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Requests / min"));
    let (status, _, _) = get_req(
        &router,
        "/dashboard",
        &[("cookie", "recwatch_dashboard=00")],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn prometheus_unreachable_falls_back_to_the_embedded_samples() {
    // A port nothing listens on: bind, read the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (dashboard, _s, recorder, metrics) = built(|b| {
        b.with_prometheus_url(&format!("http://127.0.0.1:{port}"))
            .unwrap()
            .with_prometheus_timeout(Duration::from_secs(2))
    });
    traffic(&dashboard, &recorder, &metrics);
    let (status, _, html) = get_req(&dashboard.router(), "/dashboard", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Prometheus did not answer"), "{html}");
    assert!(html.contains(r#"id="kpi-requests">120<"#), "{html}");
}

#[test]
fn builder_validates_step_retention_and_url() {
    let (_r, metrics) = crate::exporter::ExporterBuilder::new().build();
    let b = || DashboardBuilder::new(metrics.clone());
    assert!(matches!(
        b().with_step(Duration::from_millis(500)).build(),
        Err(DashboardError::InvalidStep { .. })
    ));
    assert!(matches!(
        b().with_retention(Duration::from_secs(1)).build(),
        Err(DashboardError::InvalidRetention { .. })
    ));
    assert!(matches!(
        b().with_step(Duration::from_secs(1))
            .with_retention(Duration::from_secs(200_000))
            .build(),
        Err(DashboardError::InvalidRetention { .. })
    ));
    let err = b().with_prometheus_url("not a url").unwrap_err();
    assert!(matches!(err, DashboardError::InvalidPrometheusUrl { .. }));
    assert!(std::error::Error::source(&err).is_some());
    assert!(matches!(
        b().with_prometheus_url("https://prom:9090"),
        Err(DashboardError::UnsupportedScheme { .. })
    ));
    let (d, _) = b().build().unwrap();
    assert_eq!(d.capacity(), 4321);
    // 4321 samples of 368 bytes with the default layouts (128 inline, 30 bucket counters):
    // 1.6 MB at most (slots allocated at build, bucket counters as samples arrive).
    #[cfg(target_pointer_width = "64")]
    assert_eq!(d.memory_bytes(), 4321 * 368);
}

#[test]
fn sampler_runs_until_shut_down() {
    let (dashboard, sampler, _r, _m) = built(|b| b);
    let handle = sampler.spawn().unwrap();
    assert!(dashboard.inner.store.running.load(Ordering::Relaxed));
    handle.shutdown(Duration::from_secs(5)).unwrap();
    assert!(!dashboard.inner.store.running.load(Ordering::Relaxed));
    // The first sample is taken at start.
    assert!(!dashboard.inner.store.ring().samples.is_empty());
}

#[tokio::test]
async fn mounted_at_the_root_the_links_stay_on_this_host() {
    let (dashboard, _s, _r, _m) = built(|b| b.with_path("/"));
    assert_eq!(dashboard.path(), "/");
    let router: Router = dashboard.router();
    let (status, _, html) = get_req(&router, "/?range=1h", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(r#"data-json="/data.json?range=1h""#),
        "{html}"
    );
    assert!(html.contains(r#"<a href="/?range=6h">"#), "{html}");
    assert!(!html.contains("\"//"), "{html}");
    let (status, _, _) = get_req(&router, "/data.json", &[]).await;
    assert_eq!(status, StatusCode::OK);
}

#[test]
fn a_panicking_sampler_is_reported_by_shutdown() {
    let (dashboard, sampler, _r, metrics) = built(|b| b);
    metrics.add_collector(|| panic!("collector failed (expected by this test)"));
    let handle = sampler.spawn().unwrap();
    let err = handle.shutdown(Duration::from_secs(5)).unwrap_err();
    assert!(matches!(err, DashboardError::Panicked), "{err}");
    assert!(!dashboard.inner.store.running.load(Ordering::Relaxed));
}

#[test]
fn form_values_decode() {
    assert_eq!(form_decode("a+b%20c%26").as_deref(), Some("a b c&"));
    assert_eq!(form_decode("%zz%4").as_deref(), Some("%zz%4"));
    assert_eq!(form_decode("%ff"), None);
}
