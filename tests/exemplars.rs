//! Exemplars: a request's latency bucket names the request's trace.
//!
//! The in-process tests run with `cargo test --features telemetry`. The ignored ones need real
//! tools and are run by `scripts/integration-exemplars.sh`: the Python `prometheus_client`
//! OpenMetrics parser and promtool check both expositions, and a real Prometheus with exemplar
//! storage scrapes the example service while rotel receives its spans. They fail loudly when a
//! tool is missing.
#![cfg(all(feature = "telemetry", feature = "http"))]

mod common;

use std::collections::HashSet;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use http_body_util::BodyExt as _;
use recwatch::exporter::{ExporterBuilder, MetricsHandle, RecwatchRecorder};
use recwatch::http::RequestMetricsLayer;
use recwatch::telemetry::{LogFormat, TelemetryConfig, TraceLayer};
use tower::ServiceExt as _;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

#[derive(Clone, Copy, Debug)]
enum Order {
    /// `.layer(TraceLayer).layer(RequestMetricsLayer)`: the metrics layer records after the
    /// server span was left (the example service's order).
    TraceInside,
    /// `.layer(RequestMetricsLayer).layer(TraceLayer)`: the metrics layer runs inside the span.
    TraceOutside,
}

fn app(order: Order, time_body: bool) -> Router {
    let router = Router::new().route(
        "/slow",
        get(|| async {
            recwatch::inference::time_inference("ranker", || std::hint::black_box(42));
            "done"
        }),
    );
    let metrics = RequestMetricsLayer::new().with_time_until_body_end(time_body);
    let trace = TraceLayer::new().with_response_traceparent(true);
    match order {
        Order::TraceInside => router.layer(trace).layer(metrics),
        Order::TraceOutside => router.layer(metrics).layer(trace),
    }
}

/// Sends `GET /slow` with `traceparent` through `app` under a telemetry subscriber (no export)
/// and `recorder`, reads the whole body, and returns the response's `traceparent`.
fn request(app: Router, recorder: &RecwatchRecorder, traceparent: &str) -> Option<String> {
    let (dispatch, guard) = TelemetryConfig::new()
        .with_filter("info")
        .with_log_format(LogFormat::Off)
        .with_trace_export(false)
        .build()
        .unwrap()
        .into_parts();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let response_traceparent = tracing::dispatcher::with_default(&dispatch, || {
        metrics::with_local_recorder(recorder, || {
            runtime.block_on(async {
                let response = app
                    .oneshot(
                        http::Request::get("/slow")
                            .header("traceparent", traceparent)
                            .body(Body::empty())
                            .unwrap(),
                    )
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                let tp = response
                    .headers()
                    .get("traceparent")
                    .map(|v| v.to_str().unwrap().to_owned());
                response.into_body().collect().await.unwrap();
                tp
            })
        })
    });
    guard.shutdown(Duration::from_secs(3)).unwrap();
    response_traceparent
}

/// The exemplar labels on the `_bucket` lines of `name` (`trace_id`, `span_id`).
fn exemplars(text: &str, name: &str) -> Vec<(String, String)> {
    let prefix = format!("{name}_bucket{{");
    text.lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.split_once(" # {"))
        .map(|(_, exemplar)| {
            let label = |key: &str| {
                let start = exemplar.find(&format!("{key}=\"")).unwrap() + key.len() + 2;
                exemplar[start..start + exemplar[start..].find('"').unwrap()].to_owned()
            };
            (label("trace_id"), label("span_id"))
        })
        .collect()
}

fn traced(order: Order, time_body: bool) -> (MetricsHandle, String) {
    let (_, handle, server_span) = traced_with_recorder(order, time_body);
    (handle, server_span)
}

fn traced_with_recorder(
    order: Order,
    time_body: bool,
) -> (RecwatchRecorder, MetricsHandle, String) {
    let (recorder, handle) = ExporterBuilder::new().build();
    let tp = request(
        app(order, time_body),
        &recorder,
        &format!("00-{TRACE_ID}-{PARENT_ID}-01"),
    )
    .expect("response traceparent");
    let server_span = tp.split('-').nth(2).unwrap().to_owned();
    (recorder, handle, server_span)
}

#[test]
fn request_latency_carries_the_server_span_whatever_the_layer_order() {
    for order in [Order::TraceInside, Order::TraceOutside] {
        for time_body in [false, true] {
            let (handle, server_span) = traced(order, time_body);
            let text = handle.render_openmetrics();
            let found = exemplars(&text, "recommendation_request_duration_seconds");
            assert_eq!(
                found,
                [(TRACE_ID.to_owned(), server_span.clone())],
                "{order:?}, time_body={time_body}: one bucket names the server span\n{text}"
            );
            // The model call ran in the handler, inside the server span.
            let inference = exemplars(&text, "model_inference_duration_seconds");
            assert_eq!(inference, [(TRACE_ID.to_owned(), server_span)], "{text}");
            // Plain-text clients never see exemplars.
            assert!(!handle.render().contains("trace_id"));
        }
    }
}

#[test]
fn unsampled_requests_leave_no_exemplar() {
    let (recorder, handle) = ExporterBuilder::new().build();
    // Flags 00: the caller did not sample; the parent-based sampler follows it.
    request(
        app(Order::TraceInside, false),
        &recorder,
        &format!("00-{TRACE_ID}-{PARENT_ID}-00"),
    );
    let text = handle.render_openmetrics();
    assert!(
        text.contains("recommendation_request_duration_seconds_count{"),
        "{text}"
    );
    assert!(!text.contains("trace_id"), "{text}");
}

#[test]
fn metrics_route_negotiates_the_format() {
    let (order, time_body) = (Order::TraceInside, false);
    let (handle, _) = traced(order, time_body);
    let router: Router = handle.router();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let get = |accept: Option<&str>| {
        let mut req = http::Request::get("/metrics");
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        let response = runtime
            .block_on(router.clone().oneshot(req.body(Body::empty()).unwrap()))
            .unwrap();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = runtime
            .block_on(response.into_body().collect())
            .unwrap()
            .to_bytes();
        (content_type, String::from_utf8(body.to_vec()).unwrap())
    };
    let prometheus_accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let (ct, body) = get(Some(prometheus_accept));
    assert_eq!(ct, recwatch::exporter::OPENMETRICS_CONTENT_TYPE);
    assert!(
        body.ends_with("# EOF\n") && body.contains(" # {trace_id=\""),
        "{body}"
    );
    for accept in [None, Some("*/*"), Some("text/plain;version=0.0.4")] {
        let (ct, body) = get(accept);
        assert_eq!(ct, recwatch::exporter::CONTENT_TYPE, "{accept:?}");
        assert_eq!(body, handle.render(), "{accept:?}");
    }
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("recwatch-exemplars-{}-{name}", std::process::id()))
}

/// Both expositions of a traced service pass the reference tools: the OpenMetrics text the
/// Python `prometheus_client` OpenMetrics parser (exemplars included), the Prometheus text
/// `promtool check metrics`.
#[test]
#[ignore = "needs python3 with prometheus_client and promtool: run scripts/integration-exemplars.sh"]
fn expositions_pass_the_reference_parsers() {
    let (recorder, handle, server_span) = traced_with_recorder(Order::TraceInside, false);
    // One of each kind of family the exporter writes, beside the traced request's.
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("cache_hits_total").increment(2);
        metrics::describe_counter!("cache_hits_total", "Cache \"hits\", \\ and\nmore.");
        metrics::gauge!("process_cpu_seconds_total").set(1.25);
        metrics::gauge!("system_cpu_usage_percent").set(12.5);
        metrics::gauge!("gpu_usage_percent", "gpu" => "0").set(40.0);
        metrics::gauge!("gpu_energy_joules_total", "gpu" => "0").set(12.5);
        metrics::histogram!("model_inference_batch_size", "model" => "m").record(8.0);
    });
    let plain = handle.render();
    // promtool's lint wants `_total` on counters; OpenMetrics types such a counter `unknown`.
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("bare_events").increment(1);
    });
    let openmetrics = handle.render_openmetrics();
    assert!(openmetrics.contains("# TYPE bare_events unknown\n"));
    let path = temp_path("openmetrics.txt");
    std::fs::write(&path, &openmetrics).unwrap();
    let script = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
exemplars = []
families = 0
for family in text_string_to_metric_families(text):
    families += 1
    for s in family.samples:
        if s.exemplar is not None:
            exemplars.append((s.name, s.exemplar.labels["trace_id"], s.exemplar.labels["span_id"]))
print(families, "families")
for e in exemplars:
    print("exemplar", *e)
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}): run scripts/integration-exemplars.sh")
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "prometheus_client rejected the OpenMetrics text:\n{}\n{openmetrics}",
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{stdout}");
    assert!(
        stdout.contains(&format!(
            "exemplar recommendation_request_duration_seconds_bucket {TRACE_ID} {server_span}"
        )),
        "{stdout}"
    );
    let _ = std::fs::remove_file(&path);

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run promtool ({e}): run scripts/install-deps.sh"));
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(plain.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Kills a child process however the test ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_listening(port: u16, what: &str, log: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on {port}:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn spawn_logged(mut command: Command, log: &std::path::Path, hint: &str) -> Killed {
    let out = std::fs::File::create(log).unwrap();
    let err = out.try_clone().unwrap();
    let child = command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?} ({e}): {hint}"));
    Killed(child)
}

/// Values of the `Key : value` lines of rotel's detailed span log whose key is `key`.
fn rotel_field(log: &str, key: &str) -> HashSet<String> {
    log.lines()
        .filter_map(|l| l.trim().split_once(':'))
        .filter(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().to_owned())
        .collect()
}

/// The issue's acceptance check: a real Prometheus with exemplar storage scrapes the example
/// service (telemetry on, spans to rotel); after traced requests, `/api/v1/query_exemplars`
/// returns exemplars for `recommendation_request_duration_seconds_bucket` whose trace and span
/// ids are those of server spans rotel received.
#[test]
#[ignore = "needs prometheus, rotel and the example binary: run scripts/integration-exemplars.sh"]
fn prometheus_stores_exemplars_of_the_traces_rotel_received() {
    let bin = common::example_binary();
    let rotel_bin = std::env::var("ROTEL_AGENT").unwrap_or_else(|_| "rotel-agent".to_owned());
    let prometheus_bin = std::env::var("PROMETHEUS").unwrap_or_else(|_| "prometheus".to_owned());

    let (rotel_port, rotel_grpc) = (free_port(), free_port());
    let rotel_log = temp_path("rotel.log");
    let mut rotel = Command::new(&rotel_bin);
    rotel.args([
        "start",
        "--otlp-http-endpoint",
        &format!("127.0.0.1:{rotel_port}"),
        "--otlp-grpc-endpoint",
        &format!("127.0.0.1:{rotel_grpc}"),
        "--exporter",
        "blackhole",
        "--debug-log",
        "traces",
        "--debug-log-verbosity",
        "detailed",
    ]);
    let _rotel = spawn_logged(rotel, &rotel_log, "pip install rotel, or set ROTEL_AGENT");
    wait_listening(rotel_port, "rotel", &rotel_log);

    let service_port = free_port();
    let service_log = temp_path("service.log");
    let mut service = Command::new(&bin);
    service
        .args(["--addr", &format!("127.0.0.1:{service_port}")])
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://127.0.0.1:{rotel_port}"),
        )
        .env("OTEL_SERVICE_NAME", "recwatch-exemplars-it")
        .env("RUST_LOG", "info");
    let mut service = spawn_logged(service, &service_log, "build the example");
    wait_listening(service_port, "example service", &service_log);

    let prometheus_port = free_port();
    let prometheus_dir = temp_path("prometheus");
    let _ = std::fs::remove_dir_all(&prometheus_dir);
    std::fs::create_dir_all(&prometheus_dir).unwrap();
    let config = prometheus_dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: recwatch\n    static_configs:\n      - targets: ['127.0.0.1:{service_port}']\n"
        ),
    )
    .unwrap();
    let prometheus_log = prometheus_dir.join("prometheus.log");
    let mut prometheus = Command::new(&prometheus_bin);
    prometheus
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            prometheus_dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"))
        .arg("--enable-feature=exemplar-storage");
    let _prometheus = spawn_logged(
        prometheus,
        &prometheus_log,
        "install Debian's prometheus (scripts/install-deps.sh) or set PROMETHEUS",
    );
    wait_listening(prometheus_port, "prometheus", &prometheus_log);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = reqwest::Client::new();
    // Traced requests, each its own trace, sampled by the caller.
    let sent: HashSet<String> = runtime.block_on(async {
        let mut sent = HashSet::new();
        for i in 0..20u64 {
            let trace_id = format!("{:016x}{:016x}", std::process::id(), 0xe1e0_0000 + i);
            let response = client
                .post(format!("http://127.0.0.1:{service_port}/recommend"))
                .header("traceparent", format!("00-{trace_id}-{PARENT_ID}-01"))
                .json(&serde_json::json!({"user_id": i, "k": 10}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            sent.insert(trace_id);
        }
        sent
    });

    // Prometheus scrapes every second; wait until it has stored exemplars of our traces.
    let query = |metric: &str| {
        let url = format!("http://127.0.0.1:{prometheus_port}/api/v1/query_exemplars");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let (start, end) = ((now - 600).to_string(), (now + 60).to_string());
        runtime.block_on(async {
            let body: serde_json::Value = client
                .get(&url)
                .query(&[
                    ("query", metric),
                    ("start", start.as_str()),
                    ("end", end.as_str()),
                ])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(body["status"], "success", "{body}");
            let mut found = Vec::new();
            for series in body["data"].as_array().into_iter().flatten() {
                for e in series["exemplars"].as_array().into_iter().flatten() {
                    found.push((
                        e["labels"]["trace_id"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        e["labels"]["span_id"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        series["seriesLabels"]["endpoint"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                    ));
                }
            }
            found
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let stored = loop {
        let found = query("recommendation_request_duration_seconds_bucket");
        if found.iter().any(|(t, _, _)| sent.contains(t)) {
            break found;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus stored no exemplar of our traces: {found:?}\n{}",
            std::fs::read_to_string(&prometheus_log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    println!("exemplars stored by Prometheus: {stored:?}");
    assert!(stored
        .iter()
        .all(|(_, _, endpoint)| endpoint == "/recommend"));
    let inference = query("model_inference_duration_seconds_bucket");
    assert!(
        inference.iter().any(|(t, _, _)| sent.contains(t)),
        "model call exemplars: {inference:?}"
    );

    // Stop the service so it flushes its spans, then compare with what rotel received.
    assert!(Command::new("kill")
        .args(["-TERM", &service.0.id().to_string()])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(15);
    while service.0.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "service did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let log = std::fs::read_to_string(&rotel_log).unwrap_or_default();
        let (traces, spans) = (rotel_field(&log, "Trace ID"), rotel_field(&log, "ID"));
        let missing: Vec<_> = stored
            .iter()
            .filter(|(t, s, _)| !traces.contains(t) || !spans.contains(s))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "exemplars whose trace or span rotel never received: {missing:?}\n{log}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = std::fs::remove_dir_all(&prometheus_dir);
    let _ = std::fs::remove_file(&rotel_log);
    let _ = std::fs::remove_file(&service_log);
}
