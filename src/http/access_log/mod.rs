//! [`AccessLogLayer`]: one log line per finished HTTP request.
//!
//! See [`AccessLogLayer`] for the fields, the sampling rules and an example.

mod body;
mod future;
mod layer;
mod record;
mod service;

pub use body::AccessLogBody;
pub use future::AccessLogFuture;
pub use layer::AccessLogLayer;
pub use service::AccessLog;

/// The `tracing` target of access log lines: filter them with `RUST_LOG`
/// (`recwatch::access=off`, `recwatch::access=warn` for errors only).
pub const ACCESS_LOG_TARGET: &str = "recwatch::access";

/// The `http.response.status_code` of a request whose client went away before the response
/// (the code nginx uses for "client closed request"); such lines also say
/// `event.reason = "cancelled"`.
pub const CANCELLED_STATUS_CODE: u16 = 499;
