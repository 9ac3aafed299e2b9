//! Access logs and ECS lines through the public API: one line per request with the ECS fields
//! and the caller's trace id, every line valid against the ECS logging specification, errors
//! kept by sampling, no query strings unless asked for, and a stalled output that costs dropped
//! (and counted) lines, never requests. Every subscriber here is scoped (never the global one).
#![cfg(all(feature = "telemetry", feature = "http"))]

mod common;

use std::io::Write;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use axum::Router;
use common::ecs_spec::check_line;
use recwatch::http::{AccessLogLayer, ACCESS_LOG_TARGET, CANCELLED_STATUS_CODE};
use recwatch::telemetry::{
    Guard, LogFormat, TelemetryConfig, TraceLayer, DROPPED_LOG_LINES_METRIC,
};
use serde_json::{Map, Value};
use tower::ServiceExt;
use tower_http::catch_panic::CatchPanicLayer;
use tracing::instrument::WithSubscriber;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";
const SECRET: &str = "s3cr3t-t0ken";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// Every line, each checked against the ECS logging specification.
    fn ecs_lines(&self) -> Vec<Map<String, Value>> {
        self.text()
            .lines()
            .map(|l| {
                check_line(l)
                    .unwrap_or_else(|e| panic!("{e}"))
                    .into_iter()
                    .collect()
            })
            .collect()
    }

    fn access_lines(&self) -> Vec<Map<String, Value>> {
        self.ecs_lines()
            .into_iter()
            .filter(|l| l["log.logger"] == ACCESS_LOG_TARGET)
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

fn telemetry(captured: &Captured) -> (tracing::Dispatch, Guard) {
    let buf = captured.0.clone();
    TelemetryConfig::new()
        .with_filter("info")
        .with_service_name("access-log-test")
        .with_service_version("1.2.3")
        .with_log_format(LogFormat::Ecs)
        .with_writer(move || CapturedWriter(buf.clone()))
        .build()
        .unwrap()
        .into_parts()
}

fn app(access: AccessLogLayer) -> Router {
    Router::new()
        .route(
            "/movies/{id}",
            get(|| async {
                let err = std::io::Error::other("disk on fire");
                tracing::warn!(
                    error = &err as &(dyn std::error::Error + 'static),
                    items = 3_u64,
                    log = "a field named like an ECS object",
                    "scored"
                );
                "{\"id\":42}"
            }),
        )
        .route(
            "/boom",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "no") }),
        )
        .route(
            "/panic",
            get(|| async {
                if true {
                    panic!("handler panicked");
                }
                "unreachable"
            }),
        )
        .route(
            "/slow",
            get(|| async {
                std::future::pending::<()>().await;
                "never"
            }),
        )
        .route("/healthz", get(|| async { "ok" }))
        .layer(access)
        .layer(TraceLayer::new().with_response_traceparent(true))
        .layer(CatchPanicLayer::new())
}

/// Sends one request and reads the whole body, all under `dispatch`.
async fn send(app: &Router, dispatch: &tracing::Dispatch, uri: &str) -> (StatusCode, Vec<u8>) {
    let app = app.clone();
    let request = Request::get(uri)
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .header("user-agent", "access-log-test/1.0")
        .header("authorization", format!("Bearer {SECRET}"))
        .body(Body::empty())
        .unwrap();
    async move {
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, body.to_vec())
    }
    .with_subscriber(dispatch.clone())
    .await
}

/// Polls a request once (it stays pending) and drops it: a client that went away. The drop
/// happens inside the poll of the outer future, so under `dispatch`, as a server's would be.
async fn cancel(app: &Router, dispatch: &tracing::Dispatch, uri: &str) {
    let request = Request::get(uri)
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .body(Body::empty())
        .unwrap();
    let app = app.clone();
    let uri = uri.to_owned();
    async move {
        let fut = app.oneshot(request);
        tokio::select! {
            biased;
            _ = fut => panic!("{uri} was meant to stay pending"),
            _ = std::future::ready(()) => {}
        }
    }
    .with_subscriber(dispatch.clone())
    .await
}

#[test]
fn the_check_rejects_what_the_specification_forbids() {
    let ok = r#"{"@timestamp":"2026-01-01T00:00:00.123Z","log.level":"INFO","message":"m","ecs.version":"8.11.0"}"#;
    assert!(check_line(ok).is_ok());
    for bad in [
        // order
        r#"{"log.level":"INFO","@timestamp":"2026-01-01T00:00:00Z","ecs.version":"1"}"#,
        // required
        r#"{"@timestamp":"2026-01-01T00:00:00Z","log.level":"INFO","message":"m"}"#,
        // nested top-level field
        r#"{"@timestamp":"2026-01-01T00:00:00Z","log":{"level":"INFO"},"ecs.version":"1"}"#,
        // types
        r#"{"@timestamp":"yesterday","log.level":"INFO","ecs.version":"1"}"#,
        r#"{"@timestamp":"2026-01-01T00:00:00Z","log.level":"INFO","ecs.version":"1","log.origin.file.line":"4"}"#,
        // labels
        r#"{"@timestamp":"2026-01-01T00:00:00Z","log.level":"INFO","ecs.version":"1","labels":{"a.b":"x"}}"#,
        // clash
        r#"{"@timestamp":"2026-01-01T00:00:00Z","log.level":"INFO","ecs.version":"1","error":"x","error.message":"y"}"#,
        // duplicate
        r#"{"@timestamp":"2026-01-01T00:00:00Z","log.level":"INFO","ecs.version":"1","a":1,"a":2}"#,
    ] {
        assert!(check_line(bad).is_err(), "accepted: {bad}");
    }
}

#[tokio::test]
async fn one_ecs_line_per_request_with_the_callers_trace() {
    let captured = Captured::default();
    let (dispatch, guard) = telemetry(&captured);
    let app = app(AccessLogLayer::new().add_skip_path("/healthz"));

    let (status, body) = send(&app, &dispatch, &format!("/movies/42?token={SECRET}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        send(&app, &dispatch, "/boom").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        send(&app, &dispatch, "/nowhere").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&app, &dispatch, "/panic").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(send(&app, &dispatch, "/healthz").await.0, StatusCode::OK);
    cancel(&app, &dispatch, "/slow").await;
    guard.force_flush().unwrap();

    let text = captured.text();
    assert!(!text.contains(SECRET), "a secret reached the log:\n{text}");
    let lines = captured.ecs_lines();
    // Every line carries the service and the ECS version.
    for line in &lines {
        assert_eq!(line["service.name"], "access-log-test");
        assert_eq!(line["service.version"], "1.2.3");
        assert_eq!(line["event.dataset"], "access-log-test");
    }
    let access = captured.access_lines();
    let paths: Vec<&str> = access
        .iter()
        .map(|l| l["url.path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["/movies/42", "/boom", "/nowhere", "/panic", "/slow"],
        "one line per request, none for the skipped /healthz"
    );
    for line in &access {
        assert_eq!(line["trace.id"], TRACE_ID, "{line:?}");
        assert_ne!(
            line["span.id"], PARENT_ID,
            "the server span, not the caller's"
        );
        assert_eq!(
            line["transaction.id"], line["span.id"],
            "logged in the server span"
        );
        assert_eq!(line["http.request.method"], "GET");
        assert!(line["event.duration"].is_u64(), "{line:?}");
        assert!(line["http.response.status_code"].is_u64(), "{line:?}");
        assert_eq!(line["event.category"], "web");
        assert!(line.get("url.query").is_none(), "{line:?}");
    }
    let by_path = |p: &str| access.iter().find(|l| l["url.path"] == p).unwrap();

    let ok = by_path("/movies/42");
    assert_eq!(ok["log.level"], "INFO");
    assert_eq!(ok["message"], "GET /movies/42 200");
    assert_eq!(ok["http.route"], "/movies/{id}");
    assert_eq!(ok["http.response.status_code"], 200);
    assert_eq!(ok["http.response.body.bytes"], body.len() as u64);
    assert_eq!(ok["event.outcome"], "success");
    assert_eq!(ok["user_agent.original"], "access-log-test/1.0");

    let boom = by_path("/boom");
    assert_eq!(boom["log.level"], "ERROR");
    assert_eq!(boom["http.response.status_code"], 500);
    assert_eq!(boom["error.type"], "500");
    assert_eq!(boom["event.outcome"], "failure");

    let unmatched = by_path("/nowhere");
    assert_eq!(unmatched["http.response.status_code"], 404);
    assert!(unmatched.get("http.route").is_none());

    let panicked = by_path("/panic");
    assert_eq!(panicked["log.level"], "ERROR");
    assert_eq!(panicked["http.response.status_code"], 500);
    assert_eq!(panicked["event.reason"], "panic");

    let cancelled = by_path("/slow");
    assert_eq!(cancelled["log.level"], "WARN");
    assert_eq!(
        cancelled["http.response.status_code"],
        u64::from(CANCELLED_STATUS_CODE)
    );
    assert_eq!(cancelled["event.reason"], "cancelled");
    assert_eq!(cancelled["message"], "GET /slow cancelled");

    // An application event in the request: ECS names, the error with its cause, and a field
    // that would clash with an ECS object moved under `labels`.
    let scored = lines.iter().find(|l| l["message"] == "scored").unwrap();
    assert_eq!(scored["log.level"], "WARN");
    assert_eq!(scored["trace.id"], TRACE_ID);
    assert_eq!(scored["transaction.id"], ok["span.id"]);
    assert_eq!(scored["error.message"], "disk on fire");
    assert_eq!(scored["items"], 3);
    assert_eq!(scored["labels"]["log"], "a field named like an ECS object");
    guard.shutdown(Duration::from_secs(5)).unwrap();
}

#[tokio::test]
async fn query_strings_only_when_asked_for() {
    let captured = Captured::default();
    let (dispatch, guard) = telemetry(&captured);
    let app = app(AccessLogLayer::new().with_query(true));
    send(&app, &dispatch, "/movies/7?page=2").await;
    guard.force_flush().unwrap();
    let access = captured.access_lines();
    assert_eq!(access.len(), 1);
    assert_eq!(access[0]["url.query"], "page=2");
    assert_eq!(access[0]["url.path"], "/movies/7");
    guard.shutdown(Duration::from_secs(5)).unwrap();
}

#[tokio::test]
async fn sampling_keeps_every_error() {
    let captured = Captured::default();
    let (dispatch, guard) = telemetry(&captured);
    let app = app(AccessLogLayer::new().with_success_sampling(NonZeroU32::new(4).unwrap()));
    for i in 0..20 {
        send(&app, &dispatch, &format!("/movies/{i}")).await;
        if i % 4 == 1 {
            send(&app, &dispatch, "/boom").await;
            cancel(&app, &dispatch, "/slow").await;
        }
    }
    guard.force_flush().unwrap();
    let access = captured.access_lines();
    let count = |p: &dyn Fn(&str) -> bool| {
        access
            .iter()
            .filter(|l| p(l["url.path"].as_str().unwrap()))
            .count()
    };
    // Successes 0, 4, 8, 12 and 16 of 20; all five errors and all five cancellations.
    assert_eq!(count(&|p| p.starts_with("/movies/")), 5, "{access:?}");
    assert_eq!(count(&|p| p == "/boom"), 5);
    assert_eq!(count(&|p| p == "/slow"), 5);
    guard.shutdown(Duration::from_secs(5)).unwrap();
}

/// A writer that blocks until the test opens the gate: a stalled log shipper.
struct GatedWriter(Arc<Mutex<()>>);

impl Write for GatedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _wait = self.0.lock().unwrap();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn stalled_output_drops_and_counts_lines_and_requests_still_complete() {
    let gate = Arc::new(Mutex::new(()));
    let closed = gate.lock().unwrap();
    let writer_gate = gate.clone();
    let (dispatch, guard) = TelemetryConfig::new()
        .with_filter("info")
        .with_log_format(LogFormat::Ecs)
        .with_log_queue_size(4)
        .with_writer(move || GatedWriter(writer_gate.clone()))
        .build()
        .unwrap()
        .into_parts();
    let app = app(AccessLogLayer::new());

    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let requests = 200;
    let completed = metrics::with_local_recorder(&recorder, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut completed = 0;
            for i in 0..requests {
                let (status, _) = send(&app, &dispatch, &format!("/movies/{i}")).await;
                assert_eq!(status, StatusCode::OK);
                completed += 1;
            }
            completed
        })
    });
    // Every request completed while the output was still blocked: none waited for it.
    assert_eq!(completed, requests);
    // Each request writes two lines (the handler's event and the access line); at most the
    // queue (4) plus the line in the writer's hands got through.
    let dropped = guard.dropped_log_lines();
    assert!(dropped >= 2 * requests - 5, "dropped {dropped}");
    let counted: u64 = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| key.key().name() == DROPPED_LOG_LINES_METRIC)
        .map(|(.., value)| match value {
            metrics_util::debugging::DebugValue::Counter(n) => n,
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(counted, dropped, "every dropped line is counted");

    drop(closed);
    guard.shutdown(Duration::from_secs(10)).unwrap();
}
