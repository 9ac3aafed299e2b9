//! In-process per-request overhead of the request-metrics layer.
//!
//! Same trivial axum service three ways, in the same run: bare, with recwatch's
//! `RequestMetricsLayer`, and with axum-prometheus's `PrometheusMetricLayer`. Both layers record
//! into the same installed Prometheus recorder (recwatch's exporter, real histograms), so the
//! difference to `bare` is each layer's own cost.
//!
//! ```text
//! cargo bench --bench http_layer
//! ```

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion};
use http::Request;
use tower::Service;

fn app() -> Router {
    Router::new()
        .route("/movies/{id}", get(|| async { "movie" }))
        .route("/healthz", get(|| async { "ok" }))
}

/// Drives a future that completes without waiting (all handlers here are immediate).
fn run<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

fn one_request(router: &mut Router) {
    let req = Request::get("/movies/42").body(Body::empty()).unwrap();
    // Router is always ready.
    let res = run(Service::<Request<Body>>::call(router, req)).unwrap();
    black_box(res.status());
}

fn bench(c: &mut Criterion) {
    let handle = recwatch::exporter::ExporterBuilder::new()
        .install()
        .expect("install recorder");
    let mut group = c.benchmark_group("http_layer");
    let mut bare = app();
    group.bench_function("bare", |b| b.iter(|| one_request(&mut bare)));
    let mut recwatch = app().layer(recwatch::http::RequestMetricsLayer::new());
    group.bench_function("recwatch", |b| b.iter(|| one_request(&mut recwatch)));
    let mut axum_prom = app().layer(axum_prometheus::PrometheusMetricLayer::new());
    group.bench_function("axum_prometheus", |b| {
        b.iter(|| one_request(&mut axum_prom))
    });
    group.finish();
    // Keep the exposition honest: both layers really recorded.
    let text = handle.render();
    assert!(text.contains("recommendation_requests_total"));
    assert!(text.contains("axum_http_requests_total"));
}

criterion_group!(benches, bench);
criterion_main!(benches);
