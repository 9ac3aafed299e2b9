//! Spans reach a real OTLP collector: `rotel` (from PyPI) with its detailed debug log of received
//! traces. Run with `scripts/integration-telemetry.sh`, which installs rotel and runs this with
//! `--ignored`. Fails loudly when rotel is missing.
#![cfg(all(feature = "telemetry", feature = "http"))]

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::routing::post;
use axum::Router;
use recwatch::telemetry::{OtlpProtocol, TelemetryConfig, TraceLayer};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";
const SERVICE: &str = "recwatch-telemetry-it";

/// Kills the collector however the test ends.
struct Rotel {
    child: Child,
    log: PathBuf,
}

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Rotel {
    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_rotel() -> (Rotel, SocketAddr, SocketAddr) {
    let bin = std::env::var("ROTEL_AGENT").unwrap_or_else(|_| "rotel-agent".to_owned());
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let grpc: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let log = std::env::temp_dir().join(format!("recwatch-rotel-{}.log", std::process::id()));
    let out = std::fs::File::create(&log).unwrap();
    let err = out.try_clone().unwrap();
    let child = Command::new(&bin)
        .args([
            "start",
            "--otlp-http-endpoint",
            &addr.to_string(),
            "--otlp-grpc-endpoint",
            &grpc.to_string(),
            "--exporter",
            "blackhole",
            "--debug-log",
            "traces",
            "--debug-log",
            "logs",
            "--debug-log-verbosity",
            "detailed",
        ])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start `{bin}` ({e}): install rotel (pip install rotel) and set \
                 ROTEL_AGENT or PATH, or run scripts/integration-telemetry.sh"
            )
        });
    let rotel = Rotel { child, log };
    let deadline = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(addr).is_err() || TcpStream::connect(grpc).is_err() {
        assert!(
            Instant::now() < deadline,
            "rotel did not listen on {addr}:\n{}",
            rotel.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (rotel, addr, grpc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs rotel: run scripts/integration-telemetry.sh"]
async fn spans_reach_rotel_in_the_callers_trace() {
    let (rotel, collector, _) = start_rotel();

    // Configured from the environment, as the example service is.
    std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector}"));
    std::env::set_var("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
    std::env::set_var("OTEL_SERVICE_NAME", SERVICE);
    std::env::set_var("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=it");
    std::env::set_var("OTEL_LOGS_EXPORTER", "otlp");
    // OTEL_SERVICE_NAME wins over the name in code, as deployments expect.
    let guard = TelemetryConfig::from_env()
        .unwrap()
        .with_filter("info")
        .with_service_name("overridden-by-env")
        .install()
        .unwrap();
    for var in [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_LOGS_EXPORTER",
    ] {
        std::env::remove_var(var);
    }
    assert!(guard.exports_traces());
    assert!(guard.exports_logs());

    let app = Router::new()
        .route(
            "/recommend",
            post(|| async {
                let span = tracing::info_span!("inference", model = "mf-v3");
                let _e = span.enter();
                tracing::info!(items = 10_u64, "scored-it");
                "[]"
            }),
        )
        .layer(TraceLayer::new().with_response_traceparent(true));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let response = reqwest::Client::new()
        .post(format!("http://{service}/recommend"))
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let server_span_id = server_span_id_of(response.headers());

    tokio::task::spawn_blocking(move || guard.shutdown(Duration::from_secs(5)))
        .await
        .unwrap()
        .expect("flush to rotel");

    let out = check_rotel(&rotel, &server_span_id, SERVICE);
    assert!(
        out.contains("deployment.environment: Str(it)"),
        "OTEL_RESOURCE_ATTRIBUTES not honoured:\n{out}"
    );
    // OTLP log export (OTEL_LOGS_EXPORTER=otlp): the event reached rotel too.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut out = rotel.output();
    while !out.contains("Body: Str(scored-it)") {
        assert!(
            Instant::now() < deadline,
            "log record never reached rotel:\n{out}"
        );
        std::thread::sleep(Duration::from_millis(100));
        out = rotel.output();
    }
    let log = out
        .split("LogRecord #")
        .skip(1)
        .find(|b| b.contains("Body: Str(scored-it)"))
        .unwrap_or_else(|| panic!("no LogRecord with body `scored-it`:\n{out}"));
    assert!(
        log.contains(&format!("Trace ID       : {TRACE_ID}")),
        "log record not in the caller's trace:\n{log}"
    );
    assert!(log.contains("items: Int(10)"), "{log}");
}

/// Waits for rotel to print the request's spans and checks ids, names, nesting and resource.
fn check_rotel(rotel: &Rotel, server_span_id: &str, service: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut out = rotel.output();
    while !(out.contains("POST /recommend") && out.contains("inference")) {
        assert!(
            Instant::now() < deadline,
            "rotel never printed both spans:\n{out}"
        );
        std::thread::sleep(Duration::from_millis(100));
        out = rotel.output();
    }
    println!("{out}");

    let resource_ok = out.contains(&format!("service.name: Str({service})"));
    assert!(resource_ok, "service name not in rotel's output:\n{out}");

    let spans = parse_spans(&out);
    let server = spans
        .iter()
        .find(|s| s.name == "POST /recommend")
        .unwrap_or_else(|| panic!("no `POST /recommend` span in:\n{out}"));
    assert_eq!(
        server.trace_id, TRACE_ID,
        "server span continues the caller's trace"
    );
    assert_eq!(
        server.parent_id, PARENT_ID,
        "server span's parent is the caller's span"
    );
    assert_eq!(
        server.id, server_span_id,
        "response traceparent names the server span"
    );
    assert_eq!(server.kind, "SPAN_KIND_SERVER");
    for attr in [
        "http.request.method: Str(POST)",
        "http.route: Str(/recommend)",
        "url.path: Str(/recommend)",
        "http.response.status_code: Int(200)",
    ] {
        assert!(
            server.body.contains(attr),
            "missing {attr} in:\n{}",
            server.body
        );
    }

    let inference = spans
        .iter()
        .find(|s| s.name == "inference")
        .unwrap_or_else(|| panic!("no `inference` span in:\n{out}"));
    assert_eq!(inference.trace_id, TRACE_ID);
    assert_eq!(
        inference.parent_id, server.id,
        "inference nests under the server span"
    );
    out
}

/// The span id in a response's `traceparent` (`00-<trace id>-<span id>-<flags>`).
fn server_span_id_of(headers: &axum::http::HeaderMap) -> String {
    let traceparent = headers["traceparent"].to_str().expect("ASCII traceparent");
    traceparent
        .split('-')
        .nth(2)
        .expect("span id field")
        .to_owned()
}

struct SpanRecord {
    trace_id: String,
    parent_id: String,
    id: String,
    name: String,
    kind: String,
    body: String,
}

/// Parses rotel's `--debug-log-verbosity detailed` span blocks (`Span #N` then `Key : value`).
fn parse_spans(out: &str) -> Vec<SpanRecord> {
    out.split("Span #")
        .skip(1)
        .map(|block| {
            let block = block.split("ResourceSpans #").next().unwrap_or(block);
            let field = |key: &str| {
                block
                    .lines()
                    .filter_map(|l| l.trim().split_once(':'))
                    .find(|(k, _)| k.trim() == key)
                    .map(|(_, v)| v.trim().to_owned())
                    .unwrap_or_default()
            };
            SpanRecord {
                trace_id: field("Trace ID"),
                parent_id: field("Parent ID"),
                id: field("ID"),
                name: field("Name"),
                kind: field("Kind"),
                body: block.to_owned(),
            }
        })
        .collect()
}

/// The same over gRPC, with a scoped subscriber built from an explicit configuration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs rotel: run scripts/integration-telemetry.sh"]
async fn spans_reach_rotel_over_grpc() {
    use tower::ServiceExt;
    use tracing::instrument::WithSubscriber;

    let (rotel, _, grpc) = start_rotel();
    let service = "recwatch-telemetry-grpc";
    let (dispatch, guard) = TelemetryConfig::new()
        .with_filter("info")
        .with_service_name(service)
        .with_otlp_protocol(OtlpProtocol::Grpc)
        .with_otlp_endpoint(format!("http://{grpc}"))
        .build()
        .unwrap()
        .into_parts();
    assert!(guard.exports_traces());

    let app = Router::new()
        .route(
            "/recommend",
            post(|| async {
                let span = tracing::info_span!("inference", model = "mf-v3");
                let _e = span.enter();
                "[]"
            }),
        )
        .layer(TraceLayer::new().with_response_traceparent(true));
    let response = app
        .oneshot(
            axum::http::Request::post("/recommend")
                .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .with_subscriber(dispatch)
        .await
        .unwrap();
    assert!(response.status().is_success());
    let server_span_id = server_span_id_of(response.headers());
    tokio::task::spawn_blocking(move || guard.shutdown(Duration::from_secs(5)))
        .await
        .unwrap()
        .expect("flush to rotel over gRPC");
    check_rotel(&rotel, &server_span_id, service);
}

/// Env var that turns [`service_process`] into the service; unset, it returns at once.
const CHILD_ENV: &str = "RECWATCH_TELEMETRY_SERVICE_CHILD";

/// The service side of [`sigterm_flushes_before_exit`], run in a child process: configured from
/// the environment only, flushes on SIGTERM (the wiring the example service uses).
#[test]
#[ignore = "needs rotel: run scripts/integration-telemetry.sh"]
fn service_process() {
    let Ok(port_file) = std::env::var(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let guard = TelemetryConfig::from_env()
            .expect("telemetry settings from the environment")
            .with_service_name("recommendation-service")
            .install()
            .expect("telemetry from the environment");

        let app = Router::new()
            .route(
                "/recommend",
                post(|| async {
                    let span = tracing::info_span!("inference", model = "mf-v3");
                    let _e = span.enter();
                    tracing::info!("scored");
                    "[]"
                }),
            )
            .layer(TraceLayer::new().with_response_traceparent(true));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
        std::fs::write(&port_file, addr.to_string()).unwrap();
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                term.recv().await;
            })
            .await
            .unwrap();
        tokio::task::spawn_blocking(move || guard.shutdown(Duration::from_secs(5)))
            .await
            .unwrap()
            .expect("flush on SIGTERM");
    });
}

/// The acceptance check: a service configured from `OTEL_*` variables receives
/// `POST /recommend` with a `traceparent`, gets SIGTERM, exits, and the collector has the route's
/// span in the caller's trace, parented on the caller's span, under `OTEL_SERVICE_NAME`.
#[test]
#[ignore = "needs rotel: run scripts/integration-telemetry.sh"]
fn sigterm_flushes_before_exit() {
    let (rotel, collector, _) = start_rotel();
    let service_name = "recwatch-sigterm-it";
    let port_file =
        std::env::temp_dir().join(format!("recwatch-telemetry-port-{}", std::process::id()));
    let _ = std::fs::remove_file(&port_file);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "service_process", "--ignored", "--nocapture"])
        .env(CHILD_ENV, &port_file)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector}"))
        .env("OTEL_SERVICE_NAME", service_name)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .spawn()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(30);
    let addr = loop {
        if let Ok(a) = std::fs::read_to_string(&port_file) {
            if !a.is_empty() {
                break a;
            }
        }
        assert!(child.try_wait().unwrap().is_none(), "service exited early");
        assert!(Instant::now() < deadline, "service never started");
        std::thread::sleep(Duration::from_millis(50));
    };

    let rt = tokio::runtime::Runtime::new().unwrap();
    let server_span_id = rt.block_on(async {
        let response = reqwest::Client::new()
            .post(format!("http://{addr}/recommend"))
            .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        server_span_id_of(response.headers())
    });

    let sent = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // A hang detector, not a timing assertion: the flush is bounded at 2 s per signal.
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if sent.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("service did not exit after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    println!("service exited {exit} {:?} after SIGTERM", sent.elapsed());
    assert!(exit.success(), "service exit status {exit}");
    let _ = std::fs::remove_file(&port_file);

    check_rotel(&rotel, &server_span_id, service_name);
}

/// The acceptance scenario on the real example service: started with
/// `OTEL_EXPORTER_OTLP_ENDPOINT` and `OTEL_SERVICE_NAME`, it receives `POST /recommend` with a
/// `traceparent`, gets SIGTERM, exits within 5 s, and the collector holds the route's span in the
/// caller's trace, parented on the caller's span, with the model call's `inference` span under it.
#[test]
#[ignore = "needs rotel and the example binary: run scripts/integration-telemetry.sh"]
fn example_service_exports_the_callers_trace() {
    let bin = common::example_binary();
    let (rotel, collector, _) = start_rotel();
    let service_name = "recwatch-example-it";
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(&bin)
        .args(["--addr", &addr])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector}"))
        .env("OTEL_SERVICE_NAME", service_name)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();

    let rt = tokio::runtime::Runtime::new().unwrap();
    let server_span_id = rt.block_on(async {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = client.get(format!("http://{addr}/healthz")).send().await {
                if r.status() == 200 {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "example service never came up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let response = client
            .post(format!("http://{addr}/recommend"))
            .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
            .json(&serde_json::json!({"user_id": 7, "k": 5}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        server_span_id_of(response.headers())
    });

    let sent = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    // The issue requires exit within 5 s of SIGTERM (flushes are bounded at 2 s each).
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if sent.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            panic!("example service still running 5 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "example service exit status {exit}");
    check_rotel(&rotel, &server_span_id, service_name);
}
