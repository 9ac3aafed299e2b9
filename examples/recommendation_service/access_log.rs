//! Access logs: one line per request (method, route, status, duration, size, client, user
//! agent, trace id), written through recwatch's bounded log writer. With
//! `RECWATCH_LOG_FORMAT=ecs` the lines are Elastic Common Schema JSON for Filebeat and Kibana.

use recwatch::http::AccessLogLayer;

/// Every request except scrapes and health checks; errors and cancellations always.
pub fn layer() -> AccessLogLayer {
    AccessLogLayer::new()
        .add_skip_path("/metrics")
        .add_skip_path("/healthz")
}
