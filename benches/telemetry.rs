//! Per-request cost of tracing and OTLP export, against the request-metrics layer alone.
//!
//! Same trivial axum service, same run:
//! - `metrics_only`: `RequestMetricsLayer` (the baseline the issue asks for);
//! - `traced_no_export`: plus `TraceLayer` under the telemetry subscriber, spans sampled but not
//!   exported (what a service pays with `OTEL_EXPORTER_OTLP_ENDPOINT` unset);
//! - `traced_export`: plus OTLP http/protobuf export of every span to a real collector (rotel,
//!   started here with its blackhole exporter), sampler `always_on`.
//!
//! Local log output is off in all three, so the figures are the span cost alone. Then, reading
//! the whole response body (so the access line is written when the body ends):
//! - `traced_body`: `TraceLayer` + `RequestMetricsLayer`, JSON log output on (nothing logged);
//! - `traced_access_log_ecs`: plus `AccessLogLayer`, one ECS line per request formatted on the
//!   request's thread and written to `io::sink` by the log writer thread.
//!
//! The `exemplar` group measures what exemplars add to one histogram observation, same run:
//! - `plain_histogram`: a histogram without exemplars (`queue_wait_seconds`), in a sampled span;
//! - `capable_no_span`: `recommendation_request_duration_seconds`, no span entered (the check
//!   that finds no sampled context);
//! - `capable_sampled_span`: the same inside an entered, sampled span (ids read from the active
//!   OpenTelemetry context, clock read, bucket slot written).
//!
//! ```text
//! ROTEL_AGENT=$(python3 -c 'import os,rotel;print(os.path.dirname(rotel.__file__)+"/rotel-agent")') \
//!   cargo bench --no-default-features --features telemetry,http --bench telemetry
//! ```

mod common;

use std::hint::black_box;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use common::run;
use criterion::{criterion_group, criterion_main, Criterion};
use http::Request;
use http_body_util::BodyExt as _;
use recwatch::http::{AccessLogLayer, RequestMetricsLayer};
use recwatch::telemetry::{LogFormat, TelemetryConfig, TraceLayer};
use tower::Service;

fn app() -> Router {
    Router::new().route("/movies/{id}", get(|| async { "movie" }))
}

fn one_request(router: &mut Router) {
    let req = Request::get("/movies/42")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .body(Body::empty())
        .unwrap();
    let res = run(Service::<Request<Body>>::call(router, req)).unwrap();
    black_box(res.status());
}

/// One request, its body read to the end.
fn one_request_with_body(router: &mut Router) {
    let req = Request::get("/movies/42")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .body(Body::empty())
        .unwrap();
    let res = run(Service::<Request<Body>>::call(router, req)).unwrap();
    let body = run(res.into_body().collect()).unwrap();
    black_box(body.to_bytes());
}

struct Collector(Child);

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts rotel (blackhole exporter, no debug printing) and returns its OTLP/HTTP address.
fn start_collector() -> (Collector, String) {
    let bin = std::env::var("ROTEL_AGENT").unwrap_or_else(|_| "rotel-agent".to_owned());
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let grpc = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(&bin)
        .args([
            "start",
            "--otlp-http-endpoint",
            &addr,
            "--otlp-grpc-endpoint",
            &format!("127.0.0.1:{grpc}"),
            "--exporter",
            "blackhole",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start `{bin}` ({e}): pip install rotel, set ROTEL_AGENT")
        });
    let collector = Collector(child);
    let deadline = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "rotel did not listen on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
    (collector, format!("http://{addr}"))
}

fn bench(c: &mut Criterion) {
    let _recorder = recwatch::exporter::ExporterBuilder::new()
        .install()
        .expect("install recorder");
    let (_collector, endpoint) = start_collector();
    std::env::set_var("OTEL_TRACES_SAMPLER", "always_on");

    let mut group = c.benchmark_group("telemetry");

    let mut metrics_only = app().layer(RequestMetricsLayer::new());
    group.bench_function("metrics_only", |b| {
        b.iter(|| one_request(&mut metrics_only))
    });

    let traced = || {
        app()
            .layer(TraceLayer::new())
            .layer(RequestMetricsLayer::new())
    };

    let (dispatch, guard) = TelemetryConfig::from_env()
        .expect("telemetry settings from the environment")
        .with_filter("info")
        .with_log_format(LogFormat::Off)
        .with_trace_export(false)
        .build()
        .expect("telemetry without export")
        .into_parts();
    let mut router = traced();
    tracing::dispatcher::with_default(&dispatch, || {
        group.bench_function("traced_no_export", |b| b.iter(|| one_request(&mut router)));
    });
    drop(guard);

    let (dispatch, guard) = TelemetryConfig::from_env()
        .expect("telemetry settings from the environment")
        .with_filter("info")
        .with_log_format(LogFormat::Off)
        .with_otlp_endpoint(endpoint)
        .with_max_queue_size(65_536)
        .with_scheduled_delay(Duration::from_millis(100))
        .build()
        .expect("telemetry with export")
        .into_parts();
    assert!(guard.exports_traces());
    let mut router = traced();
    let mut requests = 0_u64;
    tracing::dispatcher::with_default(&dispatch, || {
        group.bench_function("traced_export", |b| {
            b.iter(|| {
                requests += 1;
                one_request(&mut router)
            })
        });
    });
    let dropped = guard.dropped_spans();
    let flushed = guard.shutdown(Duration::from_secs(3));
    eprintln!(
        "traced_export: {requests} spans created, {dropped} dropped by the bounded queue \
         ({:.1}%), final flush: {flushed:?}",
        100.0 * dropped as f64 / requests.max(1) as f64
    );

    let (dispatch, guard) = TelemetryConfig::new()
        .with_filter("info")
        .with_log_format(LogFormat::Ecs)
        .with_writer(std::io::sink)
        .build()
        .expect("telemetry with ECS lines")
        .into_parts();
    let mut plain = app()
        .layer(TraceLayer::new())
        .layer(RequestMetricsLayer::new());
    let mut logged = app()
        .layer(AccessLogLayer::new())
        .layer(TraceLayer::new())
        .layer(RequestMetricsLayer::new());
    tracing::dispatcher::with_default(&dispatch, || {
        group.bench_function("traced_body", |b| {
            b.iter(|| one_request_with_body(&mut plain))
        });
        group.bench_function("traced_access_log_ecs", |b| {
            b.iter(|| one_request_with_body(&mut logged))
        });
    });
    group.finish();
    eprintln!(
        "traced_access_log_ecs: {} lines dropped by the bounded log queue",
        guard.dropped_log_lines()
    );
    let _ = guard.shutdown(Duration::from_secs(3));
    bench_exemplars(c);
}

fn bench_exemplars(c: &mut Criterion) {
    let labels = [
        ("method", "GET"),
        ("endpoint", "/movies/{id}"),
        ("status", "200"),
    ];
    let capable = metrics::histogram!(recwatch::catalogue::REQUEST_DURATION_SECONDS.name, &labels);
    let plain = metrics::histogram!("queue_wait_seconds", &labels);
    let (dispatch, guard) = TelemetryConfig::new()
        .with_filter("info")
        .with_log_format(LogFormat::Off)
        .with_trace_export(false)
        .build()
        .expect("telemetry without export")
        .into_parts();
    let mut group = c.benchmark_group("exemplar");
    tracing::dispatcher::with_default(&dispatch, || {
        group.bench_function("capable_no_span", |b| {
            b.iter(|| capable.record(black_box(0.042)))
        });
        let span = tracing::info_span!("request");
        let _entered = span.enter();
        group.bench_function("plain_histogram", |b| {
            b.iter(|| plain.record(black_box(0.042)))
        });
        group.bench_function("capable_sampled_span", |b| {
            b.iter(|| capable.record(black_box(0.042)))
        });
    });
    group.finish();
    drop(guard);
}

criterion_group!(benches, bench);
criterion_main!(benches);
