//! In-process per-request overhead of the request-metrics layer.
//!
//! Two trivial services, each measured bare, with a do-nothing layer, with recwatch's
//! `RequestMetricsLayer` and with axum-prometheus's `PrometheusMetricLayer`, in the same run:
//!
//! - `router`: an axum `Router` with the layer applied by `Router::layer` (how users apply it).
//!   Any layer applied this way costs axum a boxed, cloned route service per request; the
//!   `noop_layer` case measures that, so `recwatch - noop_layer` is recwatch's own work.
//! - `service`: a plain `tower::service_fn` wrapped directly, with no routing at all.
//!
//! Both metrics layers record into the same installed recorder (recwatch's exporter, real
//! histograms), so each difference is that layer's own cost.
//!
//! ```text
//! cargo bench --bench http_layer
//! ```

mod common;

use std::hint::black_box;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use common::run;
use criterion::{criterion_group, criterion_main, Criterion};
use http::Request;
use std::convert::Infallible;

use tower::{Layer, Service};

fn app() -> Router {
    Router::new()
        .route("/movies/{id}", get(|| async { "movie" }))
        .route("/healthz", get(|| async { "ok" }))
}

fn one_request(router: &mut Router) {
    let req = Request::get("/movies/42").body(Body::empty()).unwrap();
    // Router is always ready.
    let res = run(Service::<Request<Body>>::call(router, req)).unwrap();
    black_box(res.status());
}

fn service_request<S>(svc: &mut S)
where
    S: Service<Request<Body>, Response = http::Response<Body>, Error = Infallible>,
{
    let req = Request::get("/movies/42").body(Body::empty()).unwrap();
    // service_fn and both layers are always ready.
    let res = run(svc.call(req)).unwrap();
    black_box(res.status());
}

/// A trivial tower service: no routing, an immediate response.
fn trivial(
) -> impl Service<Request<Body>, Response = http::Response<Body>, Error = Infallible> + Clone {
    tower::service_fn(|_req: Request<Body>| async {
        Ok::<_, Infallible>(http::Response::new(Body::from("movie")))
    })
}

/// Turns any response body into axum's `Body` (both metrics layers wrap the body).
fn boxed<S, B>(
    svc: S,
) -> impl Service<Request<Body>, Response = http::Response<Body>, Error = Infallible>
where
    S: Service<Request<Body>, Response = http::Response<B>, Error = Infallible>,
    B: http_body::Body<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    tower::ServiceExt::map_response(svc, |res: http::Response<B>| res.map(Body::new))
}

fn bench(c: &mut Criterion) {
    let handle = recwatch::exporter::ExporterBuilder::new()
        .install()
        .expect("install recorder");

    let mut group = c.benchmark_group("router");
    let mut bare = app();
    group.bench_function("bare", |b| b.iter(|| one_request(&mut bare)));
    let mut noop_layer = app().layer(tower::layer::layer_fn(|s| s));
    group.bench_function("noop_layer", |b| b.iter(|| one_request(&mut noop_layer)));
    let mut recwatch = app().layer(recwatch::http::RequestMetricsLayer::new());
    group.bench_function("recwatch", |b| b.iter(|| one_request(&mut recwatch)));
    let mut axum_prom = app().layer(axum_prometheus::PrometheusMetricLayer::new());
    group.bench_function("axum_prometheus", |b| {
        b.iter(|| one_request(&mut axum_prom))
    });
    group.finish();

    let mut group = c.benchmark_group("service");
    let mut bare = trivial();
    group.bench_function("bare", |b| b.iter(|| service_request(&mut bare)));
    let mut recwatch = boxed(recwatch::http::RequestMetricsLayer::new().layer(trivial()));
    group.bench_function("recwatch", |b| b.iter(|| service_request(&mut recwatch)));
    let mut axum_prom = boxed(axum_prometheus::PrometheusMetricLayer::new().layer(trivial()));
    group.bench_function("axum_prometheus", |b| {
        b.iter(|| service_request(&mut axum_prom))
    });
    group.finish();

    // Keep the exposition honest: both layers really recorded.
    let text = handle.render();
    assert!(text.contains("recommendation_requests_total"));
    assert!(text.contains("axum_http_requests_total"));
}

criterion_group!(benches, bench);
criterion_main!(benches);
