//! Label values: method normalisation, status values and the per-route handle cache.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use http::Method;
use metrics::{Counter, Gauge, Histogram, SharedString};

use crate::catalogue::Naming;

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

impl StatusMetrics {
    #[inline]
    fn record(&self, seconds: f64) {
        if let Some(c) = &self.counter {
            c.increment(1);
        }
        self.histogram.record(seconds);
    }
}

/// Statuses of one route kept in lock-free slots; most routes see only a handful.
const STATUS_SLOTS: usize = 8;

/// Handles of one (method, endpoint) pair, resolved once and reused for every request.
pub(crate) struct RouteMetrics {
    pub(crate) in_flight: Gauge,
    method: &'static str,
    endpoint: SharedString,
    naming: Naming,
    /// Lock-free fast path: filled in order, never emptied.
    slots: [OnceLock<StatusMetrics>; STATUS_SLOTS],
    /// Statuses beyond the slots (rare: a route answering with many distinct codes).
    overflow: RwLock<Vec<StatusMetrics>>,
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
            slots: std::array::from_fn(|_| OnceLock::new()),
            overflow: RwLock::new(Vec::new()),
        }
    }

    /// Records one finished request.
    pub(crate) fn record(&self, status: StatusKey, seconds: f64) {
        for slot in &self.slots {
            match slot.get() {
                Some(m) if m.status == status => return m.record(seconds),
                Some(_) => continue,
                None => {
                    // Claim the first free slot; if another thread filled it first with another
                    // status, keep looking.
                    let m = slot.get_or_init(|| self.resolve(status));
                    if m.status == status {
                        return m.record(seconds);
                    }
                }
            }
        }
        {
            let overflow = self.overflow.read().unwrap_or_else(|p| p.into_inner());
            if let Some(m) = overflow.iter().find(|m| m.status == status) {
                return m.record(seconds);
            }
        }
        let mut overflow = self.overflow.write().unwrap_or_else(|p| p.into_inner());
        if !overflow.iter().any(|m| m.status == status) {
            overflow.push(self.resolve(status));
        }
        if let Some(m) = overflow.iter().find(|m| m.status == status) {
            m.record(seconds);
        }
    }

    fn resolve(&self, status: StatusKey) -> StatusMetrics {
        let names = self.naming.names();
        let labels = [
            metrics::Label::new(names.method_label, self.method),
            metrics::Label::new(names.endpoint_label, self.endpoint.clone()),
            metrics::Label::new(names.status_label, status_value(status)),
        ];
        StatusMetrics {
            status,
            counter: names
                .requests_total
                .map(|name| metrics::counter!(name, labels.iter())),
            histogram: metrics::histogram!(names.duration, labels.iter()),
        }
    }
}

type MethodSlots = [OnceLock<&'static RouteMetrics>; METHOD_SLOTS];
type FastMap<K, V> = HashMap<K, V, rustc_hash::FxBuildHasher>;

/// The handles a request records into: shared for the process (the cached global recorder) or
/// resolved for this request alone (any other recorder, such as a test's local one).
pub(crate) enum RouteRef {
    Shared(&'static RouteMetrics),
    Own(Box<RouteMetrics>),
}

impl std::ops::Deref for RouteRef {
    type Target = RouteMetrics;

    #[inline]
    fn deref(&self) -> &RouteMetrics {
        match self {
            RouteRef::Shared(r) => r,
            RouteRef::Own(r) => r,
        }
    }
}

/// Key of a process-wide route entry: naming, method slot, endpoint label.
type SharedKey = (Naming, usize, Box<str>);

/// Route entries of the global recorder, shared by every layer: one per (naming, method,
/// endpoint), allocated once and kept for the process — as the global recorder keeps the series
/// they feed. Bounded by the application's routes, not by how many layers are built.
fn shared_route(
    naming: Naming,
    slot: usize,
    method: &'static str,
    endpoint: &str,
) -> &'static RouteMetrics {
    static SHARED: OnceLock<RwLock<FastMap<SharedKey, &'static RouteMetrics>>> = OnceLock::new();
    let map = SHARED.get_or_init(|| RwLock::new(FastMap::default()));
    let key: SharedKey = (naming, slot, Box::from(endpoint));
    if let Some(route) = map.read().unwrap_or_else(|p| p.into_inner()).get(&key) {
        return route;
    }
    let mut map = map.write().unwrap_or_else(|p| p.into_inner());
    map.entry(key).or_insert_with(|| {
        &*Box::leak(Box::new(RouteMetrics::new(
            naming,
            method,
            SharedString::from(endpoint.to_owned()),
        )))
    })
}

/// Per-layer cache from endpoint label to the shared route entries, for the global recorder.
///
/// Keys are route templates (bounded by the application's routes) plus [`UNMATCHED_ENDPOINT`],
/// so the cache cannot grow with client input; it is freed with the layer, while the entries it
/// points to are shared by all layers.
pub(crate) struct RouteCache {
    naming: Naming,
    endpoints: RwLock<FastMap<Box<str>, Arc<MethodSlots>>>,
}

impl RouteCache {
    pub(crate) fn new(naming: Naming) -> Self {
        Self {
            naming,
            endpoints: RwLock::new(FastMap::default()),
        }
    }

    pub(crate) fn route(&self, method: &Method, endpoint: &str) -> RouteRef {
        let (slot, method_label) = method_label(method);
        if !crate::inference::current_recorder_is_cached() {
            // Not the global recorder whose series live for the process: resolve in the
            // current recorder for this request only, so nothing outlives that recorder.
            return RouteRef::Own(Box::new(RouteMetrics::new(
                self.naming,
                method_label,
                SharedString::from(endpoint.to_owned()),
            )));
        }
        let found = {
            let map = self.endpoints.read().unwrap_or_else(|p| p.into_inner());
            match map.get(endpoint) {
                // Fast path: resolved before; no allocation, no reference counting.
                Some(slots) => match slots[slot].get() {
                    Some(route) => return RouteRef::Shared(route),
                    None => Some(slots.clone()),
                },
                None => None,
            }
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
        RouteRef::Shared(
            slots[slot].get_or_init(|| shared_route(self.naming, slot, method_label, endpoint)),
        )
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
