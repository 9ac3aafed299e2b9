//! Label values: method normalisation, status values and the per-route handle cache.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use http::Method;
use metrics::{Counter, Gauge, Histogram, SharedString};

use super::Naming;

/// Endpoint label value shared by every request that matched no route.
pub const UNMATCHED_ENDPOINT: &str = "unmatched";

/// Status label value of a request whose response future was dropped before it completed
/// (the client went away, or a timeout layer gave up).
pub const CANCELLED_STATUS: &str = "cancelled";

/// Method label value for methods outside the standard set.
pub const OTHER_METHOD: &str = "_OTHER";

pub(crate) const METHOD_SLOTS: usize = 10;

/// Maps a method to its slot and label. Only the standard methods keep their name, so a client
/// cannot create series by inventing methods.
pub(crate) fn method_label(method: &Method) -> (usize, &'static str) {
    match *method {
        Method::GET => (0, "GET"),
        Method::HEAD => (1, "HEAD"),
        Method::POST => (2, "POST"),
        Method::PUT => (3, "PUT"),
        Method::DELETE => (4, "DELETE"),
        Method::CONNECT => (5, "CONNECT"),
        Method::OPTIONS => (6, "OPTIONS"),
        Method::TRACE => (7, "TRACE"),
        Method::PATCH => (8, "PATCH"),
        _ => (9, OTHER_METHOD),
    }
}

/// Status code as recorded; [`STATUS_CANCELLED`] marks a dropped request.
pub(crate) type StatusKey = u16;
pub(crate) const STATUS_CANCELLED: StatusKey = 0;

fn status_value(status: StatusKey) -> SharedString {
    if status == STATUS_CANCELLED {
        SharedString::const_str(CANCELLED_STATUS)
    } else {
        SharedString::from(status.to_string())
    }
}

struct StatusMetrics {
    status: StatusKey,
    counter: Option<Counter>,
    histogram: Histogram,
}

/// Handles of one (method, endpoint) pair, resolved once and reused for every request.
pub(crate) struct RouteMetrics {
    pub(crate) in_flight: Gauge,
    method: &'static str,
    endpoint: SharedString,
    naming: Naming,
    statuses: RwLock<Vec<StatusMetrics>>,
}

impl RouteMetrics {
    fn new(naming: Naming, method: &'static str, endpoint: SharedString) -> Self {
        let names = naming.names();
        let in_flight = metrics::gauge!(
            names.in_flight,
            names.method_label => method,
            names.endpoint_label => endpoint.clone()
        );
        Self {
            in_flight,
            method,
            endpoint,
            naming,
            statuses: RwLock::new(Vec::new()),
        }
    }

    /// Records one finished request.
    pub(crate) fn record(&self, status: StatusKey, seconds: f64) {
        {
            let statuses = self.statuses.read().unwrap_or_else(|p| p.into_inner());
            if let Some(m) = statuses.iter().find(|m| m.status == status) {
                if let Some(c) = &m.counter {
                    c.increment(1);
                }
                m.histogram.record(seconds);
                return;
            }
        }
        let mut statuses = self.statuses.write().unwrap_or_else(|p| p.into_inner());
        if !statuses.iter().any(|m| m.status == status) {
            let names = self.naming.names();
            let labels = [
                metrics::Label::new(names.method_label, self.method),
                metrics::Label::new(names.endpoint_label, self.endpoint.clone()),
                metrics::Label::new(names.status_label, status_value(status)),
            ];
            let counter = names
                .requests_total
                .map(|name| metrics::counter!(name, labels.iter()));
            let histogram = metrics::histogram!(names.duration, labels.iter());
            statuses.push(StatusMetrics {
                status,
                counter,
                histogram,
            });
        }
        drop(statuses);
        self.record(status, seconds);
    }
}

type MethodSlots = [OnceLock<Arc<RouteMetrics>>; METHOD_SLOTS];

/// Per-layer cache from endpoint label to its resolved handles.
///
/// Keys are route templates (bounded by the application's routes) plus [`UNMATCHED_ENDPOINT`],
/// so the cache cannot grow with client input.
pub(crate) struct RouteCache {
    naming: Naming,
    endpoints: RwLock<HashMap<Box<str>, Arc<MethodSlots>>>,
}

impl RouteCache {
    pub(crate) fn new(naming: Naming) -> Self {
        Self {
            naming,
            endpoints: RwLock::new(HashMap::new()),
        }
    }

    pub(crate) fn route(&self, method: &Method, endpoint: &str) -> Arc<RouteMetrics> {
        let (slot, method_label) = method_label(method);
        let found = {
            let map = self.endpoints.read().unwrap_or_else(|p| p.into_inner());
            map.get(endpoint).cloned()
        };
        let slots = match found {
            Some(slots) => slots,
            None => {
                let mut map = self.endpoints.write().unwrap_or_else(|p| p.into_inner());
                map.entry(Box::from(endpoint))
                    .or_insert_with(|| Arc::new(std::array::from_fn(|_| OnceLock::new())))
                    .clone()
            }
        };
        slots[slot]
            .get_or_init(|| {
                Arc::new(RouteMetrics::new(
                    self.naming,
                    method_label,
                    SharedString::from(endpoint.to_owned()),
                ))
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_collapse() {
        assert_eq!(method_label(&Method::GET).1, "GET");
        assert_eq!(method_label(&Method::PATCH).1, "PATCH");
        let odd = Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&odd), (9, OTHER_METHOD));
    }

    #[test]
    fn status_values() {
        assert_eq!(&*status_value(404), "404");
        assert_eq!(&*status_value(STATUS_CANCELLED), CANCELLED_STATUS);
    }
}
