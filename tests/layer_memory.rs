//! Layer memory is bounded by routes, not by layer instances: building and using 10,000 layers
//! under the installed recorder leaves memory flat and every request counted.

mod common;

use axum::body::Body;
use axum::routing::{get, post};
use axum::Router;
use http::Request;
use recwatch::exporter::ExporterBuilder;
use recwatch::http::RequestMetricsLayer;
use tower::ServiceExt;

const LAYERS: usize = 10_000;
const WARM_UP: usize = 1_000;

fn app(layer: RequestMetricsLayer) -> Router {
    Router::new()
        .route("/movies/{id}", get(|| async { "movie" }))
        .route("/recommend", post(|| async { "[]" }))
        .layer(layer)
}

async fn use_layer() {
    for (method, path) in [
        ("GET", "/movies/7"),
        ("POST", "/recommend"),
        ("GET", "/nope"),
    ] {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let res = app(RequestMetricsLayer::new()).oneshot(req).await.unwrap();
        drop(res);
    }
}

#[test]
fn ten_thousand_layers_leave_memory_flat() {
    let handle = ExporterBuilder::new()
        .with_service("layers")
        .install()
        .expect("install");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for _ in 0..WARM_UP {
            use_layer().await;
        }
        let before = common::rss_bytes();
        for _ in WARM_UP..LAYERS {
            use_layer().await;
        }
        let growth = common::rss_bytes().saturating_sub(before);
        // A route table leaked per layer (three routes, handles and label strings each) would
        // grow by several megabytes over 9,000 layers.
        assert!(
            growth < 2 << 20,
            "RSS grew by {growth} bytes over {} layers",
            LAYERS - WARM_UP
        );
    });
    let text = handle.render();
    let count = |method: &str, endpoint: &str, status: &str| {
        common::sample(
            &text,
            "recommendation_requests_total",
            &[
                ("method", method),
                ("endpoint", endpoint),
                ("status", status),
            ],
        )
    };
    assert_eq!(count("GET", "/movies/{id}", "200"), Some(LAYERS as f64));
    assert_eq!(count("POST", "/recommend", "200"), Some(LAYERS as f64));
    assert_eq!(count("GET", "unmatched", "404"), Some(LAYERS as f64));
}
