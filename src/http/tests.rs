use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::MetricKind;
use tower::ServiceExt;
use tower_http::catch_panic::CatchPanicLayer;

use super::*;

/// Runs `f` on a current-thread runtime with a local debugging recorder.
fn with_recorder<F: Future<Output = ()>>(f: impl FnOnce() -> F) -> Snap {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f());
    });
    Snap::take(&snapshotter)
}

type Entry = (
    metrics_util::CompositeKey,
    Option<metrics::Unit>,
    Option<metrics::SharedString>,
    DebugValue,
);

/// One snapshot (the debugging recorder resets values when read, so read once).
struct Snap(Vec<Entry>);

impl Snap {
    fn take(s: &Snapshotter) -> Self {
        Snap(s.snapshot().into_vec())
    }
}

/// Value of the series `name` whose labels include all of `labels`.
fn value(snap: &Snap, kind: MetricKind, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    snap.0.iter().find_map(|(key, _, _, v)| {
        let (k, key) = key.clone().into_parts();
        if k != kind || key.name() != name {
            return None;
        }
        let ok = labels
            .iter()
            .all(|(n, v)| key.labels().any(|l| l.key() == *n && l.value() == *v));
        if !ok {
            return None;
        }
        Some(match v {
            DebugValue::Counter(c) => *c as f64,
            DebugValue::Gauge(g) => g.into_inner(),
            DebugValue::Histogram(h) => h.len() as f64,
        })
    })
}

fn series_count(snap: &Snap, name: &str) -> usize {
    snap.0
        .iter()
        .filter(|(k, ..)| k.key().name() == name)
        .count()
}

async fn send(app: &Router, method: Method, uri: &str) -> StatusCode {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    res.into_body().collect().await.unwrap();
    status
}

async fn boom() -> &'static str {
    if true {
        panic!("handler failed");
    }
    "unreachable"
}

fn app(layer: RequestMetricsLayer) -> Router {
    Router::new()
        .route("/movies/{id}", get(|| async { "movie" }))
        .nest(
            "/api",
            Router::new().route("/items/{id}", get(|| async { "item" })),
        )
        .route("/boom", get(boom))
        .route("/never", get(std::future::pending::<&'static str>))
        .layer(layer)
}

#[test]
fn records_route_templates_statuses_and_unmatched() {
    let snap = with_recorder(|| async {
        let app = app(RequestMetricsLayer::new());
        for id in [1, 2, 3] {
            assert_eq!(
                send(&app, Method::GET, &format!("/movies/{id}")).await,
                StatusCode::OK
            );
        }
        send(&app, Method::GET, "/api/items/9").await;
        for i in 0..50 {
            assert_eq!(
                send(&app, Method::GET, &format!("/random/{i}")).await,
                StatusCode::NOT_FOUND
            );
        }
        send(&app, Method::POST, "/movies/1").await;
        send(&app, Method::from_bytes(b"BREW").unwrap(), "/movies/1").await;
    });
    let c = |labels: &[(&str, &str)]| {
        value(
            &snap,
            MetricKind::Counter,
            crate::catalogue::REQUESTS_TOTAL.name,
            labels,
        )
    };
    assert_eq!(
        c(&[
            ("endpoint", "/movies/{id}"),
            ("method", "GET"),
            ("status", "200")
        ]),
        Some(3.0)
    );
    assert_eq!(
        c(&[("endpoint", "/api/items/{id}"), ("status", "200")]),
        Some(1.0)
    );
    assert_eq!(
        c(&[("endpoint", UNMATCHED_ENDPOINT), ("status", "404")]),
        Some(50.0)
    );
    assert_eq!(
        c(&[
            ("endpoint", "/movies/{id}"),
            ("method", "POST"),
            ("status", "405")
        ]),
        Some(1.0)
    );
    assert_eq!(c(&[("method", OTHER_METHOD)]), Some(1.0));
    // 50 random paths share one series per metric.
    assert_eq!(
        series_count(&snap, crate::catalogue::REQUESTS_TOTAL.name),
        5
    );
    let h = value(
        &snap,
        MetricKind::Histogram,
        crate::catalogue::REQUEST_DURATION_SECONDS.name,
        &[("endpoint", "/movies/{id}"), ("status", "200")],
    );
    assert_eq!(h, Some(3.0));
    let g = value(
        &snap,
        MetricKind::Gauge,
        crate::catalogue::REQUESTS_IN_FLIGHT.name,
        &[("endpoint", "/movies/{id}"), ("method", "GET")],
    );
    assert_eq!(g, Some(0.0));
}

#[test]
fn panics_count_as_500_on_either_side_of_catch_panic() {
    // Catcher outside: the panic unwinds through the metrics future.
    let outer = with_recorder(|| async {
        let app = app(RequestMetricsLayer::new()).layer(CatchPanicLayer::new());
        assert_eq!(
            send(&app, Method::GET, "/boom").await,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    });
    // Catcher inside: the metrics layer sees a 500 response.
    let inner = with_recorder(|| async {
        let app = Router::new()
            .route("/boom", get(boom))
            .layer(CatchPanicLayer::new())
            .layer(RequestMetricsLayer::new());
        assert_eq!(
            send(&app, Method::GET, "/boom").await,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    });
    for snap in [outer, inner] {
        let c = value(
            &snap,
            MetricKind::Counter,
            crate::catalogue::REQUESTS_TOTAL.name,
            &[("endpoint", "/boom"), ("status", "500")],
        );
        assert_eq!(c, Some(1.0));
        let g = value(
            &snap,
            MetricKind::Gauge,
            crate::catalogue::REQUESTS_IN_FLIGHT.name,
            &[("endpoint", "/boom")],
        );
        assert_eq!(g, Some(0.0));
    }
}

#[test]
fn dropped_requests_are_cancelled_and_leave_no_in_flight() {
    let snap = with_recorder(|| async {
        let app = app(RequestMetricsLayer::new());
        let req = Request::get("/never").body(Body::empty()).unwrap();
        let mut fut = pin!(app.oneshot(req));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        // The client goes away: the future is dropped here.
    });
    let c = value(
        &snap,
        MetricKind::Counter,
        crate::catalogue::REQUESTS_TOTAL.name,
        &[("endpoint", "/never"), ("status", CANCELLED_STATUS)],
    );
    assert_eq!(c, Some(1.0));
    let g = value(
        &snap,
        MetricKind::Gauge,
        crate::catalogue::REQUESTS_IN_FLIGHT.name,
        &[("endpoint", "/never")],
    );
    assert_eq!(g, Some(0.0));
}

#[test]
fn skipped_paths_are_not_recorded() {
    let snap = with_recorder(|| async {
        let app = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/movies/{id}", get(|| async { "m" }))
            .layer(RequestMetricsLayer::new().add_skip_path("/healthz"));
        send(&app, Method::GET, "/healthz").await;
        send(&app, Method::GET, "/movies/1").await;
    });
    assert_eq!(
        series_count(&snap, crate::catalogue::REQUESTS_TOTAL.name),
        1
    );
    assert_eq!(
        value(
            &snap,
            MetricKind::Counter,
            crate::catalogue::REQUESTS_TOTAL.name,
            &[("endpoint", "/healthz")]
        ),
        None
    );
}

/// A streamed body fed by a channel.
struct ChannelBody(tokio::sync::mpsc::Receiver<axum::body::Bytes>);

impl http_body::Body for ChannelBody {
    type Data = axum::body::Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|d| d.map(|d| Ok(http_body::Frame::data(d))))
    }
}

#[test]
fn body_timing_keeps_request_in_flight_until_the_stream_ends() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            let rx = std::sync::Arc::new(std::sync::Mutex::new(Some(rx)));
            let app = Router::new()
                .route(
                    "/stream",
                    get(move || {
                        let rx = rx.lock().unwrap().take().unwrap();
                        async move { Body::new(ChannelBody(rx)) }
                    }),
                )
                .layer(RequestMetricsLayer::new().with_time_until_body_end(true));
            let req = Request::get("/stream").body(Body::empty()).unwrap();
            let res = app.oneshot(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            let mut body = res.into_body();
            tx.send("a".into()).await.unwrap();
            let frame = body.frame().await.unwrap().unwrap();
            assert_eq!(frame.into_data().unwrap(), "a");
            // Head sent, body still streaming: in flight, not yet counted.
            let probe = Snap::take(&snapshotter);
            let in_flight = value(
                &probe,
                MetricKind::Gauge,
                crate::catalogue::REQUESTS_IN_FLIGHT.name,
                &[("endpoint", "/stream")],
            );
            assert_eq!(in_flight, Some(1.0));
            assert_eq!(
                series_count(&probe, crate::catalogue::REQUESTS_TOTAL.name),
                0
            );
            drop(tx);
            assert!(body.frame().await.is_none());
        });
    });
    let snap = Snap::take(&snapshotter);
    let c = value(
        &snap,
        MetricKind::Counter,
        crate::catalogue::REQUESTS_TOTAL.name,
        &[("endpoint", "/stream"), ("status", "200")],
    );
    assert_eq!(c, Some(1.0));
    // Reading resets values: after the probe saw +1, the end of the body moved it by -1.
    let g = value(
        &snap,
        MetricKind::Gauge,
        crate::catalogue::REQUESTS_IN_FLIGHT.name,
        &[("endpoint", "/stream")],
    );
    assert_eq!(g, Some(-1.0));
}

#[test]
fn opentelemetry_naming() {
    let snap = with_recorder(|| async {
        let app = app(RequestMetricsLayer::new().with_naming(Naming::OpenTelemetry));
        send(&app, Method::GET, "/movies/5").await;
    });
    let h = value(
        &snap,
        MetricKind::Histogram,
        "http_server_request_duration_seconds",
        &[
            ("http_route", "/movies/{id}"),
            ("http_request_method", "GET"),
            ("http_response_status_code", "200"),
        ],
    );
    assert_eq!(h, Some(1.0));
    assert_eq!(
        series_count(&snap, crate::catalogue::REQUESTS_TOTAL.name),
        0
    );
    assert!(value(
        &snap,
        MetricKind::Gauge,
        "http_server_active_requests",
        &[("http_route", "/movies/{id}")]
    )
    .is_some());
}

#[test]
fn plain_tower_service_with_endpoint_fn() {
    let snap = with_recorder(|| async {
        let svc = tower::service_fn(|_req: Request<Body>| async {
            Ok::<_, Infallible>(http::Response::new(Body::from("x")))
        });
        let layer = RequestMetricsLayer::new()
            .with_endpoint_fn(|_, uri| uri.path().starts_with("/v1/").then_some("/v1/*"));
        let svc = tower_layer::Layer::layer(&layer, svc);
        for uri in ["/v1/a", "/v1/b", "/other"] {
            svc.clone()
                .oneshot(Request::get(uri).body(Body::empty()).unwrap())
                .await
                .unwrap();
        }
    });
    let c = |e| {
        value(
            &snap,
            MetricKind::Counter,
            crate::catalogue::REQUESTS_TOTAL.name,
            &[("endpoint", e)],
        )
    };
    assert_eq!(c("/v1/*"), Some(2.0));
    assert_eq!(c(UNMATCHED_ENDPOINT), Some(1.0));
}

#[test]
fn many_distinct_statuses_on_one_route_are_all_counted() {
    let codes: Vec<u16> = vec![
        200, 201, 202, 204, 301, 302, 400, 401, 403, 409, 418, 429, 500, 503,
    ];
    let snap = with_recorder(|| async {
        let app = Router::new()
            .route(
                "/status/{code}",
                get(
                    |axum::extract::Path(code): axum::extract::Path<u16>| async move {
                        StatusCode::from_u16(code).unwrap()
                    },
                ),
            )
            .layer(RequestMetricsLayer::new());
        for round in 0..3 {
            for code in &codes[..codes.len() - round] {
                send(&app, Method::GET, &format!("/status/{code}")).await;
            }
        }
    });
    for (i, code) in codes.iter().enumerate() {
        let expected = if i + 2 < codes.len() {
            3.0
        } else if i + 1 < codes.len() {
            2.0
        } else {
            1.0
        };
        let c = value(
            &snap,
            MetricKind::Counter,
            crate::catalogue::REQUESTS_TOTAL.name,
            &[("status", &code.to_string())],
        );
        assert_eq!(c, Some(expected), "status {code}");
    }
    assert_eq!(
        series_count(&snap, crate::catalogue::REQUESTS_TOTAL.name),
        codes.len()
    );
}
