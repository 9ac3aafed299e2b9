//! Tower middleware recording request count, latency and in-flight requests.
//!
//! [`RequestMetricsLayer`] works on any tower service and is made for axum routers. With the
//! default [`Naming::Recwatch`] it records the catalogue metrics:
//!
//! | name | type | labels |
//! |---|---|---|
//! | `recommendation_requests_total` | counter | `method`, `endpoint`, `status` |
//! | `recommendation_request_duration_seconds` | histogram | `method`, `endpoint`, `status` |
//! | `recommendation_requests_in_flight` | gauge | `method`, `endpoint` |
//!
//! Label rules, which keep cardinality bounded whatever clients send:
//!
//! - `endpoint` is axum's matched route template (`/movies/{id}`, nested routers included),
//!   never the raw path; requests that match no route all get [`UNMATCHED_ENDPOINT`].
//! - `method` is one of the nine standard methods, or [`OTHER_METHOD`] (`_OTHER`).
//! - `status` is the numeric response status. A handler panic caught by tower-http's
//!   `CatchPanicLayer` is a `500` whichever side of this layer the catcher sits on. A request
//!   whose future is dropped before it completes (client disconnect, timeout) is recorded
//!   with status [`CANCELLED_STATUS`], and the in-flight gauge comes back down.
//!
//! [`Naming::OpenTelemetry`] records `http_server_request_duration_seconds` and
//! `http_server_active_requests` with `http_request_method`, `http_route` and
//! `http_response_status_code` labels instead (request counts are the histogram's `_count`).
//!
//! # Examples
//!
//! ```
//! use axum::{routing::{get, post}, Router};
//! use recwatch::exporter::ExporterBuilder;
//! use recwatch::http::RequestMetricsLayer;
//!
//! # fn main() -> Result<(), recwatch::ExporterError> {
//! let metrics = ExporterBuilder::new().with_service("recommender").install()?;
//! let app: Router = Router::new()
//!     .route("/recommend", post(|| async { "[]" }))
//!     .route("/movies/{id}", get(|| async { "{}" }))
//!     .merge(metrics.router())
//!     .layer(RequestMetricsLayer::new().add_skip_path("/metrics"));
//! # drop(app);
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "telemetry")]
mod access_log;
mod body;
mod future;
mod labels;
mod layer;
mod service;

#[cfg(feature = "telemetry")]
pub use access_log::{
    AccessLog, AccessLogBody, AccessLogFuture, AccessLogLayer, ACCESS_LOG_TARGET,
    CANCELLED_STATUS_CODE,
};
pub use body::ResponseBody;
pub use future::ResponseFuture;
pub use labels::{CANCELLED_STATUS, OTHER_METHOD, UNMATCHED_ENDPOINT};
pub use layer::{EndpointFn, RequestMetricsLayer};
pub use service::RequestMetrics;

use crate::catalogue;

pub use crate::catalogue::Naming;

pub(crate) struct Names {
    pub(crate) requests_total: Option<&'static str>,
    pub(crate) duration: &'static str,
    pub(crate) in_flight: &'static str,
    pub(crate) method_label: &'static str,
    pub(crate) endpoint_label: &'static str,
    pub(crate) status_label: &'static str,
}

impl Naming {
    pub(crate) fn names(self) -> Names {
        // Names and label keys come from the catalogue; `Naming` is non-exhaustive, so any
        // scheme without a name of its own falls back to recwatch's.
        let duration = &catalogue::REQUEST_DURATION_SECONDS;
        let in_flight = &catalogue::REQUESTS_IN_FLIGHT;
        let labels = duration.labels_in(self);
        let labels = if labels.len() == 3 {
            labels
        } else {
            duration.labels
        };
        Names {
            requests_total: catalogue::REQUESTS_TOTAL.name_in(self),
            duration: duration.name_in(self).unwrap_or(duration.name),
            in_flight: in_flight.name_in(self).unwrap_or(in_flight.name),
            method_label: labels[0],
            endpoint_label: labels[1],
            status_label: labels[2],
        }
    }
}

#[cfg(test)]
mod tests;
