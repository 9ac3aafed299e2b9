//! Telemetry through the public API only: JSON log lines with trace ids, the server span layer
//! continuing a caller's trace, typed configuration errors, and a dead collector that must not
//! slow or fail requests. Every subscriber here is scoped (never the global one).
#![cfg(all(feature = "telemetry", feature = "http"))]

use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use recwatch::telemetry::{LogFormat, TelemetryConfig, TelemetryError, TraceLayer};
use serde_json::Value;
use tower::ServiceExt;
use tracing::instrument::WithSubscriber;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// `from_env` reads the process environment; tests that change it must not overlap with others.
fn env_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
            .collect()
    }
}

struct CapturedWriter(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn config(captured: &Captured) -> TelemetryConfig {
    let buf = captured.0.clone();
    TelemetryConfig::new()
        .with_filter("info")
        .with_log_format(LogFormat::Json)
        .with_trace_export(false)
        .with_writer(move || CapturedWriter(buf.clone()))
}

fn app() -> Router {
    Router::new()
        .route(
            "/recommend",
            post(|| async {
                let span = tracing::info_span!("inference", model = "mf-v3");
                let _e = span.enter();
                tracing::info!(items = 10_u64, "scored");
                "[]"
            }),
        )
        .route("/movies/{id}", get(|| async { "{}" }))
        .route(
            "/boom",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "no") }),
        )
        .layer(TraceLayer::new().with_response_traceparent(true))
}

#[tokio::test]
async fn json_logs_carry_the_callers_trace_id() {
    let captured = Captured::default();
    let (dispatch, guard) = {
        let _env = env_lock();
        config(&captured).build().unwrap().into_parts()
    };

    let response = app()
        .oneshot(
            Request::post("/recommend")
                .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
                .header("baggage", "user.tier=gold")
                .body(Body::empty())
                .unwrap(),
        )
        .with_subscriber(dispatch.clone())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // The response names the server span, in the caller's trace.
    let traceparent = response.headers()["traceparent"]
        .to_str()
        .unwrap()
        .to_owned();
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts[1], TRACE_ID, "{traceparent}");
    assert_ne!(parts[2], PARENT_ID, "the server span is a new child span");

    // Lines are written by their own thread: wait for them.
    guard.force_flush().unwrap();
    let lines = captured.lines();
    let scored = lines
        .iter()
        .find(|l| l["message"] == "scored")
        .unwrap_or_else(|| panic!("no `scored` line in {lines:?}"));
    for key in [
        "timestamp",
        "level",
        "target",
        "message",
        "fields",
        "trace_id",
        "span_id",
    ] {
        assert!(scored.get(key).is_some(), "missing {key}: {scored}");
    }
    assert_eq!(scored["level"], "INFO");
    assert_eq!(scored["fields"]["items"], 10);
    assert_eq!(scored["span"], "inference");
    assert_eq!(scored["trace_id"], TRACE_ID);
    // The event sits in the nested inference span, not in the server span.
    assert_ne!(scored["span_id"], parts[2]);
    drop(guard);
}

#[tokio::test]
async fn outcome_recorded_without_raw_paths_in_names() {
    let captured = Captured::default();
    let (dispatch, guard) = {
        let _env = env_lock();
        config(&captured).build().unwrap().into_parts()
    };

    for (uri, status) in [
        ("/movies/42", StatusCode::OK),
        ("/boom", StatusCode::INTERNAL_SERVER_ERROR),
        ("/nowhere", StatusCode::NOT_FOUND),
    ] {
        let response = app()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .with_subscriber(dispatch.clone())
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{uri}");
        if status != StatusCode::NOT_FOUND {
            // Without an incoming traceparent the server span starts a fresh trace.
            let tp = response.headers()["traceparent"].to_str().unwrap();
            assert_eq!(tp.len(), 55, "{tp}");
        }
    }
    guard.shutdown(Duration::from_secs(5)).unwrap();
}

#[test]
fn bad_settings_are_typed_errors() {
    let _env = env_lock();
    let err = TelemetryConfig::new()
        .with_otlp_endpoint("not a url")
        .build()
        .unwrap_err();
    assert!(
        matches!(err, TelemetryError::InvalidEndpoint { .. }),
        "{err}"
    );

    let err = TelemetryConfig::new()
        .with_otlp_endpoint("127.0.0.1:4318")
        .build()
        .unwrap_err();
    assert!(
        matches!(err, TelemetryError::EndpointNotHttp { .. }),
        "{err}"
    );

    let err = TelemetryConfig::new()
        .with_filter("info,[{=")
        .build()
        .unwrap_err();
    assert!(matches!(err, TelemetryError::InvalidFilter { .. }), "{err}");

    // gRPC needs a Tokio runtime; outside one it is an error, not a panic.
    let err = TelemetryConfig::new()
        .with_otlp_endpoint("http://127.0.0.1:4317")
        .with_otlp_protocol(recwatch::telemetry::OtlpProtocol::Grpc)
        .build()
        .unwrap_err();
    assert!(matches!(err, TelemetryError::NoRuntime { .. }), "{err}");

    // Environment variables are validated the same way.
    type Check = fn(&TelemetryError) -> bool;
    let vars: [(&str, &str, Check); 4] = [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", |e| {
            matches!(e, TelemetryError::UnknownProtocol { .. })
        }),
        ("OTEL_TRACES_SAMPLER", "sometimes", |e| {
            matches!(e, TelemetryError::UnknownSampler { .. })
        }),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://exa mple", |e| {
            matches!(e, TelemetryError::InvalidEndpoint { .. })
        }),
        ("RECWATCH_LOG_FORMAT", "xml", |e| {
            matches!(e, TelemetryError::UnknownLogFormat { .. })
        }),
    ];
    for (name, value, expected) in vars {
        std::env::set_var(name, value);
        let result = TelemetryConfig::from_env().and_then(TelemetryConfig::build);
        std::env::remove_var(name);
        let err = result
            .err()
            .unwrap_or_else(|| panic!("{name}={value} accepted"));
        assert!(expected(&err), "{name}={value}: {err}");
    }
    std::env::set_var("OTEL_TRACES_SAMPLER", "traceidratio");
    std::env::set_var("OTEL_TRACES_SAMPLER_ARG", "1.5");
    let result = TelemetryConfig::from_env().and_then(TelemetryConfig::build);
    std::env::remove_var("OTEL_TRACES_SAMPLER");
    std::env::remove_var("OTEL_TRACES_SAMPLER_ARG");
    assert!(matches!(
        result.err(),
        Some(TelemetryError::InvalidSamplerArg { .. })
    ));
}

/// A collector that accepts connections and never answers: export stalls, the queue fills,
/// requests still complete and the drops are counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_collector_does_not_fail_requests_and_drops_are_counted() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Keep accepted sockets open without reading a byte.
    let held = Arc::new(Mutex::new(Vec::new()));
    let held2 = held.clone();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            held2.lock().unwrap().push(s);
        }
    });

    let (dispatch, guard) = {
        let _env = env_lock();
        TelemetryConfig::new()
            .with_filter("info")
            .with_log_format(LogFormat::Off)
            .with_otlp_endpoint(format!("http://{addr}"))
            .with_max_queue_size(8)
            .with_scheduled_delay(Duration::from_millis(10))
            .with_shutdown_timeout(Duration::from_millis(200))
            .build()
            .unwrap()
            .into_parts()
    };
    assert!(guard.exports_traces());

    let app = app();
    for _ in 0..200 {
        let response = app
            .clone()
            .oneshot(Request::get("/movies/1").body(Body::empty()).unwrap())
            .with_subscriber(dispatch.clone())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    // At most 8 queued plus one batch in flight to the stalled collector: the rest dropped.
    assert!(
        guard.dropped_spans() >= 200 - 16,
        "dropped {}",
        guard.dropped_spans()
    );
    // Shutdown is bounded even though the collector never answers; it reports an error.
    let shutdown = tokio::task::spawn_blocking(move || guard.shutdown(Duration::from_millis(200)))
        .await
        .unwrap();
    assert!(
        matches!(
            shutdown,
            Err(TelemetryError::ShutdownTimedOut {
                signal: "traces",
                ..
            })
        ),
        "{shutdown:?}"
    );
}

/// `from_env` reads the variables when it is called; setters afterwards win; `build` reads none.
#[test]
fn from_env_reads_the_environment_when_called() {
    let captured = Captured::default();
    let buf = captured.0.clone();
    let config = {
        let _env = env_lock();
        std::env::set_var("RECWATCH_LOG_FORMAT", "ecs");
        std::env::set_var("RUST_LOG", "warn");
        std::env::set_var("OTEL_SERVICE_NAME", "from-env");
        let config = TelemetryConfig::from_env();
        for var in ["RECWATCH_LOG_FORMAT", "RUST_LOG", "OTEL_SERVICE_NAME"] {
            std::env::remove_var(var);
        }
        config.unwrap()
    };
    let (dispatch, guard) = config
        .with_service_name("overridden-by-env")
        .with_writer(move || CapturedWriter(buf.clone()))
        .build()
        .unwrap()
        .into_parts();
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info!("filtered out by RUST_LOG=warn");
        tracing::warn!("kept");
    });
    guard.force_flush().unwrap();
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["message"], "kept");
    assert_eq!(
        lines[0]["log.level"], "WARN",
        "ECS from RECWATCH_LOG_FORMAT"
    );
    assert_eq!(lines[0]["service.name"], "from-env");
    guard.shutdown(Duration::from_secs(5)).unwrap();
}
