//! Routes that fail on purpose, for trying alerts, dashboards and log pipelines (and for the
//! integration tests): only mounted with `--fault-routes`.
//!
//! - `GET /faults/error` → 500;
//! - `GET /faults/slow?ms=N` → 200 after N milliseconds (default 30 000, at most 600 000), so a
//!   client that gives up first leaves a cancelled request.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::Query;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

pub fn router() -> Router {
    Router::new()
        .route(
            "/faults/error",
            get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "injected failure") }),
        )
        .route(
            "/faults/slow",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                let ms = q
                    .get("ms")
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(30_000)
                    .min(600_000);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                "slow"
            }),
        )
}
