//! Load and fault test over a real loopback socket, through the public API.
//!
//! - 16 concurrent keep-alive connections for `RECWATCH_LOAD_SECS` seconds (default 10) with
//!   scrapes in parallel: the request counter equals the responses clients received, exactly;
//! - clients that abort mid-request are counted as cancelled and the in-flight gauge returns to 0;
//! - 100,000 random unmatched paths add no series.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use recwatch::exporter::{ExporterBuilder, MetricsHandle};
use recwatch::http::{RequestMetricsLayer, CANCELLED_STATUS, UNMATCHED_ENDPOINT};

const REQUESTS_TOTAL: &str = "recommendation_requests_total";
const IN_FLIGHT: &str = "recommendation_requests_in_flight";
const CONCURRENCY: usize = 16;

async fn start() -> (SocketAddr, MetricsHandle) {
    let metrics = ExporterBuilder::new()
        .with_service("load-test")
        .install()
        .expect("install");
    let app = Router::new()
        .route("/work/{id}", get(|| async { "done" }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "late"
            }),
        )
        .merge(metrics.router())
        .layer(RequestMetricsLayer::new().add_skip_path("/metrics"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, metrics)
}

/// xorshift64*: cheap deterministic randomness for paths.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_faults_and_cardinality() {
    let (addr, metrics) = start().await;
    let secs: u64 = std::env::var("RECWATCH_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();

    // Phase 1: sustained load with parallel scrapes.
    let completed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for worker in 0..CONCURRENCY as u64 {
        let (client, completed) = (client.clone(), completed.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0u64;
            while Instant::now() < deadline {
                let res = client
                    .get(format!("http://{addr}/work/{}", worker * 1_000_000 + i))
                    .send()
                    .await
                    .expect("request");
                assert_eq!(res.status(), 200);
                res.bytes().await.expect("body");
                completed.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    let scraper = {
        let client = client.clone();
        tokio::spawn(async move {
            let mut scrapes = 0u32;
            let mut last = 0.0;
            while Instant::now() < deadline {
                let text = common::scrape(&client, addr).await;
                let seen = common::sample(&text, REQUESTS_TOTAL, &[("endpoint", "/work/{id}")])
                    .unwrap_or(0.0);
                assert!(seen >= last, "counter went backwards: {last} -> {seen}");
                last = seen;
                scrapes += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            scrapes
        })
    };
    for t in tasks {
        t.await.unwrap();
    }
    assert!(scraper.await.unwrap() > 0);
    let completed = completed.load(Ordering::Relaxed);
    let text = metrics.render();
    let counted = common::sample(
        &text,
        REQUESTS_TOTAL,
        &[
            ("endpoint", "/work/{id}"),
            ("status", "200"),
            ("method", "GET"),
        ],
    );
    assert_eq!(
        counted,
        Some(completed as f64),
        "counter vs completed requests"
    );
    assert!(completed > 0);
    assert_eq!(
        common::sample(&text, IN_FLIGHT, &[("endpoint", "/work/{id}")]),
        Some(0.0)
    );

    // Phase 2: clients abort mid-request.
    let aborts = 20;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let mut handles = Vec::new();
    for _ in 0..aborts {
        let impatient = impatient.clone();
        handles.push(tokio::spawn(async move {
            let err = impatient
                .get(format!("http://{addr}/slow"))
                .send()
                .await
                .expect_err("the client gives up first");
            assert!(err.is_timeout(), "{err}");
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let give_up = Instant::now() + Duration::from_secs(30);
    loop {
        let text = metrics.render();
        let in_flight = common::sample(&text, IN_FLIGHT, &[("endpoint", "/slow")]);
        let cancelled = common::sample(
            &text,
            REQUESTS_TOTAL,
            &[("endpoint", "/slow"), ("status", CANCELLED_STATUS)],
        );
        if in_flight == Some(0.0) && cancelled == Some(f64::from(aborts)) {
            break;
        }
        assert!(
            Instant::now() < give_up,
            "in flight {in_flight:?}, cancelled {cancelled:?} after aborts"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Phase 3: 100,000 random unmatched paths add no series.
    let first = client
        .get(format!("http://{addr}/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 404);
    let series_before = common::series_count(&metrics.render());
    let total = 100_000u64;
    let sent = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for worker in 0..CONCURRENCY as u64 {
        let (client, sent) = (client.clone(), sent.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = 0x9E37_79B9_7F4A_7C15 ^ (worker + 1);
            while sent.fetch_add(1, Ordering::Relaxed) < total {
                let path = format!("/{:x}/{:x}", next(&mut rng), next(&mut rng));
                let res = client
                    .get(format!("http://{addr}{path}"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 404);
                res.bytes().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let text = metrics.render();
    assert_eq!(
        common::series_count(&text),
        series_before,
        "new series appeared"
    );
    assert_eq!(
        common::sample(
            &text,
            REQUESTS_TOTAL,
            &[("endpoint", UNMATCHED_ENDPOINT), ("status", "404")]
        ),
        Some((total + 1) as f64)
    );
}
