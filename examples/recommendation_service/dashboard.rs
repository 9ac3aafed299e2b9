//! The built-in monitoring page at `/dashboard` (feature `dashboard`).
//!
//! Embedded by default (this process's own samples); `--prometheus-url URL` takes the panels
//! from Prometheus instead, summed across every replica it scrapes, and `--dashboard-token T`
//! protects the page.

use axum::Router;
use recwatch::dashboard::{DashboardBuilder, DashboardHandle};
use recwatch::exporter::MetricsHandle;
use recwatch::http::RequestMetricsLayer;

/// The paths the page serves, left out of the request metrics so that its refreshes are not
/// counted as traffic.
const PATHS: [&str; 4] = [
    "/dashboard",
    "/dashboard/",
    "/dashboard/data.json",
    "/dashboard/login",
];

/// Merges the dashboard's router into `app` and starts its sampler; keep the handle alive.
pub fn mount(
    app: Router,
    metrics: &MetricsHandle,
    prometheus_url: Option<&str>,
    token: Option<&str>,
) -> Result<(Router, DashboardHandle), recwatch::DashboardError> {
    let mut builder = DashboardBuilder::new(metrics.clone());
    if let Some(url) = prometheus_url {
        builder = builder.with_prometheus_url(url)?;
    }
    if let Some(token) = token {
        builder = builder.with_bearer_token(token);
    }
    let (dashboard, sampler) = builder.build()?;
    Ok((app.merge(dashboard.router()), sampler.spawn()?))
}

/// `layer` with the dashboard's paths skipped.
pub fn skip_paths(layer: RequestMetricsLayer) -> RequestMetricsLayer {
    PATHS.into_iter().fold(layer, |l, p| l.add_skip_path(p))
}
