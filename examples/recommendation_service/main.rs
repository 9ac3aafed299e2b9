//! The recwatch showcase: a movie-recommendation service with its whole monitoring layer.
//!
//! ```text
//! cargo run --release --example recommendation_service -- --addr 127.0.0.1:8000
//! ```
//!
//! Routes:
//! - `POST /recommend` with `{"user_id": u64, "k": 1..=100}` → top-k movies for the user;
//! - `GET /movies/{id}` → one movie, or 404;
//! - `POST /feedback` with `{"user_id", "movie_id", "rating"}` or `{"user_id", "movie_id", "event": "click"}`
//!   → joined with what was recommended; keeps `recommendation_quality_score` current (see `feedback.rs`);
//! - `GET /healthz` → 200;
//! - `GET /metrics` → Prometheus text exposition;
//! - `GET /dashboard` → the built-in monitoring page (with `--features dashboard`).
//!
//! Options: `--addr ADDR` (default `127.0.0.1:8000`), `--metrics-addr ADDR` (also serve
//! `/metrics` on a standalone listener, e.g. `127.0.0.1:8001`), `--movies N` (catalogue size,
//! default 5000), `--fault-routes` (mount `/faults/error` and `/faults/slow`, see `faults.rs`),
//! `--fail-rate F` (answer a share `F` in `0..=1` of valid `/recommend` requests with `500`,
//! deterministically — see `fail_rate.rs`; default 0, used to exercise error alerts),
//! `--prometheus-url URL` (dashboard panels from Prometheus, all replicas), `--dashboard-token T`
//! (protect the dashboard). Stops gracefully on SIGTERM or Ctrl-C.
//!
//! With the `telemetry` feature (`--features telemetry`), telemetry comes from the environment:
//! JSON or ECS logs (`RUST_LOG`, `RECWATCH_LOG_FORMAT=json|ecs|human`) with one access log line
//! per request, and OTLP trace export when `OTEL_EXPORTER_OTLP_ENDPOINT` is set
//! (`OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_PROTOCOL`, … are honoured); spans are flushed
//! before exit.

#[cfg(feature = "dashboard")]
mod dashboard;
mod feedback;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use recwatch::active_users::ActiveUsers;
use recwatch::exporter::{ExporterBuilder, ListenerConfig};
use recwatch::http::RequestMetricsLayer;
#[cfg(feature = "telemetry")]
use recwatch::telemetry::{TelemetryConfig, TraceLayer};
use recwatch::track_inference;
use serde::{Deserialize, Serialize};
use tower_http::catch_panic::CatchPanicLayer;

#[cfg(feature = "telemetry")]
mod access_log;
mod fail_rate;
mod faults;

const GENRES: &[&str] = &[
    "action",
    "adventure",
    "animation",
    "comedy",
    "crime",
    "documentary",
    "drama",
    "fantasy",
    "horror",
    "mystery",
    "romance",
    "sci-fi",
    "thriller",
    "western",
];
const WORDS_A: &[&str] = &[
    "Silent", "Crimson", "Last", "Hidden", "Electric", "Broken", "Golden", "Midnight", "Lost",
    "Wild", "Frozen", "Secret", "Distant", "Burning", "Velvet", "Iron",
];
const WORDS_B: &[&str] = &[
    "Harbor", "Empire", "Garden", "Signal", "Horizon", "Machine", "River", "Kingdom", "Echo",
    "Frontier", "Orchard", "Station", "Mirror", "Voyage", "Canyon", "Letter",
];
const DIM: usize = 16;

/// SplitMix64: a deterministic stream of pseudo-random numbers from a seed.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn unit(state: &mut u64) -> f32 {
    (splitmix(state) >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
}

#[derive(Clone, Serialize)]
struct Movie {
    movie_id: u64,
    title: String,
    genres: Vec<&'static str>,
    year: u16,
    #[serde(skip)]
    embedding: [f32; DIM],
    #[serde(skip)]
    popularity: f32,
}

/// A deterministic synthetic catalogue: the same ids, titles and genres on every run.
fn catalogue(n: usize) -> Vec<Movie> {
    (0..n as u64)
        .map(|id| {
            let mut s = id.wrapping_mul(0xA24B_AED4_963E_E407) ^ 0x5EED;
            let a = WORDS_A[(splitmix(&mut s) % WORDS_A.len() as u64) as usize];
            let b = WORDS_B[(splitmix(&mut s) % WORDS_B.len() as u64) as usize];
            let g1 = GENRES[(splitmix(&mut s) % GENRES.len() as u64) as usize];
            let g2 = GENRES[(splitmix(&mut s) % GENRES.len() as u64) as usize];
            let genres = if g1 == g2 { vec![g1] } else { vec![g1, g2] };
            let mut embedding = [0.0; DIM];
            for e in &mut embedding {
                *e = unit(&mut s);
            }
            Movie {
                movie_id: id,
                title: format!("The {a} {b} ({})", id),
                genres,
                year: 1950 + (splitmix(&mut s) % 75) as u16,
                embedding,
                popularity: unit(&mut s).abs() * 0.5,
            }
        })
        .collect()
}

/// A small CPU model: user embedding from the id, dot-product scores plus a popularity prior.
struct Model {
    movies: Vec<Movie>,
}

#[derive(Serialize)]
struct Scored {
    movie_id: u64,
    title: String,
    score: f32,
}

impl Model {
    fn user_embedding(user_id: u64) -> [f32; DIM] {
        let mut s = user_id ^ 0xC0FF_EE00_D15E_A5E5;
        let mut e = [0.0; DIM];
        for x in &mut e {
            *x = unit(&mut s);
        }
        e
    }

    /// The model call: timed as `model_inference_duration_seconds{model="mf_ranker",version="v1"}`.
    #[track_inference(model = "mf_ranker", version = "v1")]
    fn recommend(&self, user_id: u64, k: usize) -> Vec<Scored> {
        let user = Self::user_embedding(user_id);
        let mut scored: Vec<(f32, usize)> = self
            .movies
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let dot: f32 = user.iter().zip(&m.embedding).map(|(a, b)| a * b).sum();
                (dot / DIM as f32 + m.popularity, i)
            })
            .collect();
        let k = k.min(scored.len());
        if k == 0 {
            return Vec::new();
        }
        scored.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0));
        scored.truncate(k);
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored
            .into_iter()
            .map(|(score, i)| Scored {
                movie_id: self.movies[i].movie_id,
                title: self.movies[i].title.clone(),
                score,
            })
            .collect()
    }
}

struct AppState {
    model: Model,
    users: ActiveUsers,
    fail_rate: fail_rate::FailRate,
    online: recwatch::quality::OnlineQuality,
}

#[derive(Deserialize)]
struct RecommendRequest {
    user_id: u64,
    k: u32,
}

#[derive(Serialize)]
struct RecommendResponse {
    user_id: u64,
    items: Vec<Scored>,
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

async fn recommend(
    State(state): State<Arc<AppState>>,
    body: Result<Json<RecommendRequest>, JsonRejection>,
) -> Response {
    let Json(req) = match body {
        Ok(json) => json,
        Err(rejection) => return error(rejection.status(), rejection.body_text()),
    };
    if !(1..=100).contains(&req.k) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("k must be between 1 and 100, got {}", req.k),
        );
    }
    state.users.observe(req.user_id);
    if state.fail_rate.next_fails() {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "injected failure (--fail-rate)",
        );
    }
    let items = state.model.recommend(req.user_id, req.k as usize);
    feedback::remember(&state.online, req.user_id, items.iter().map(|s| s.movie_id));
    Json(RecommendResponse {
        user_id: req.user_id,
        items,
    })
    .into_response()
}

async fn movie(
    State(state): State<Arc<AppState>>,
    id: Result<Path<u64>, PathRejection>,
) -> Response {
    let Path(id) = match id {
        Ok(id) => id,
        Err(rejection) => return error(StatusCode::BAD_REQUEST, rejection.body_text()),
    };
    match usize::try_from(id)
        .ok()
        .and_then(|i| state.model.movies.get(i))
    {
        Some(m) => Json(m.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no movie with id {id}")),
    }
}

async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "no such route")
}

struct Args {
    addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    movies: usize,
    fault_routes: bool,
    prometheus_url: Option<String>,
    dashboard_token: Option<String>,
    fail_rate: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 8000)),
        metrics_addr: None,
        movies: 5000,
        fault_routes: false,
        prometheus_url: None,
        dashboard_token: None,
        fail_rate: 0.0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match flag.as_str() {
            "--addr" => {
                let v = value("--addr")?;
                args.addr = v.parse().map_err(|e| format!("--addr {v}: {e}"))?;
            }
            "--metrics-addr" => {
                let v = value("--metrics-addr")?;
                args.metrics_addr =
                    Some(v.parse().map_err(|e| format!("--metrics-addr {v}: {e}"))?);
            }
            "--movies" => {
                let v = value("--movies")?;
                args.movies = v.parse().map_err(|e| format!("--movies {v}: {e}"))?;
            }
            "--fault-routes" => args.fault_routes = true,
            "--fail-rate" => {
                let v = value("--fail-rate")?;
                args.fail_rate = v.parse().map_err(|e| format!("--fail-rate {v}: {e}"))?;
            }
            "--prometheus-url" => args.prometheus_url = Some(value("--prometheus-url")?),
            "--dashboard-token" => args.dashboard_token = Some(value("--dashboard-token")?),
            "-h" | "--help" => {
                println!(
                    "usage: recommendation_service [--addr ADDR] [--metrics-addr ADDR] [--movies N] \
                     [--fault-routes] [--fail-rate F] [--prometheus-url URL] [--dashboard-token T]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    eprintln!("shutting down");
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("recommendation_service: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args).await {
        eprintln!("recommendation_service: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    // Logs and traces; exports only when OTEL_EXPORTER_OTLP_ENDPOINT is set.
    #[cfg(feature = "telemetry")]
    let telemetry = TelemetryConfig::from_env()?
        .with_service_name("recommendation_service")
        .with_service_version(env!("CARGO_PKG_VERSION"))
        .install()?;
    #[cfg(not(feature = "telemetry"))]
    if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() {
        eprintln!(
            "recommendation_service: built without the `telemetry` feature, traces are not \
             exported (run with --features telemetry)"
        );
    }

    let metrics = ExporterBuilder::new()
        .with_service("recommendation_service")
        .with_version(env!("CARGO_PKG_VERSION"))
        .with_model_version("mf-16d-v1")
        .install()?;

    // System, process, container and GPU gauges, sampled on their own thread.
    let sampler = recwatch::sampler::SamplerBuilder::new().spawn()?;

    let users = ActiveUsers::default();
    let publisher = users.clone();
    metrics.add_collector(move || publisher.publish());

    let _metrics_listener = match args.metrics_addr {
        Some(addr) => Some(metrics.spawn_listener(ListenerConfig::new().with_addr(addr))?),
        None => None,
    };

    let state = Arc::new(AppState {
        model: Model {
            movies: catalogue(args.movies),
        },
        users,
        fail_rate: fail_rate::FailRate::new(args.fail_rate)?,
        online: feedback::online_quality(),
    });
    let app = Router::new()
        .route("/recommend", post(recommend))
        .route("/movies/{id}", get(movie))
        .route("/feedback", post(feedback::feedback))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(not_found)
        .with_state(state)
        .merge(metrics.router());
    #[cfg(feature = "dashboard")]
    let (app, _dashboard) = dashboard::mount(
        app,
        &metrics,
        args.prometheus_url.as_deref(),
        args.dashboard_token.as_deref(),
    )?;
    #[cfg(not(feature = "dashboard"))]
    if args.prometheus_url.is_some() || args.dashboard_token.is_some() {
        eprintln!("recommendation_service: built without the `dashboard` feature, no dashboard");
    }
    let app = if args.fault_routes {
        app.merge(faults::router())
    } else {
        app
    };
    #[cfg(feature = "telemetry")]
    let app = app.layer(access_log::layer()).layer(
        TraceLayer::new()
            .add_skip_path("/metrics")
            .with_response_traceparent(true),
    );
    let request_metrics = RequestMetricsLayer::new().add_skip_path("/metrics");
    #[cfg(feature = "dashboard")]
    let request_metrics = dashboard::skip_paths(request_metrics);
    let app = app.layer(request_metrics).layer(CatchPanicLayer::new());

    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| format!("cannot bind {}: {e}", args.addr))?;
    eprintln!(
        "recommendation_service listening on http://{} (metrics at /metrics)",
        listener.local_addr()?
    );
    #[cfg(feature = "dashboard")]
    eprintln!(
        "recommendation_service dashboard at http://{}/dashboard",
        listener.local_addr()?
    );
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    // Bounded stop: never holds up shutdown, even if a driver call hangs.
    if let Err(e) = sampler.shutdown(std::time::Duration::from_secs(2)) {
        eprintln!("sampler did not stop cleanly: {e}");
    }
    // Flush spans off the async workers (bounded by the shutdown timeout).
    #[cfg(feature = "telemetry")]
    tokio::task::spawn_blocking(move || telemetry.shutdown(std::time::Duration::from_secs(2)))
        .await??;
    Ok(())
}
