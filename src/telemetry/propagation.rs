//! W3C trace context and baggage over `http` headers.

use std::sync::LazyLock;

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;
use opentelemetry::propagation::{
    Extractor, Injector, TextMapCompositePropagator, TextMapPropagator,
};
use opentelemetry::Context;
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

/// Built once: extraction runs on every request.
static W3C: LazyLock<TextMapCompositePropagator> = LazyLock::new(w3c);

pub(crate) fn w3c() -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// The OpenTelemetry context carried by W3C `traceparent`/`tracestate` and `baggage` headers.
///
/// Returns an empty context when the headers are absent or malformed (never an error: a bad
/// header from a caller must not fail the request).
///
/// ```
/// use opentelemetry::trace::TraceContextExt;
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert(
///     "traceparent",
///     "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap(),
/// );
/// let cx = recwatch::telemetry::extract_context(&headers);
/// assert_eq!(
///     cx.span().span_context().trace_id().to_string(),
///     "4bf92f3577b34da6a3ce929d0e0e4736"
/// );
/// ```
pub fn extract_context(headers: &HeaderMap) -> Context {
    W3C.extract(&HeaderExtractor(headers))
}

/// Writes `cx` as W3C `traceparent`/`tracestate` and `baggage` headers, e.g. on an outgoing
/// request so the callee continues the trace.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// let cx = recwatch::telemetry::extract_context(&{
///     let mut h = http::HeaderMap::new();
///     h.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
///     h
/// });
/// recwatch::telemetry::inject_context(&cx, &mut headers);
/// assert!(headers["traceparent"].to_str().unwrap().contains("4bf92f3577b34da6a3ce929d0e0e4736"));
/// ```
pub fn inject_context(cx: &Context, headers: &mut HeaderMap) {
    W3C.inject_context(cx, &mut HeaderInjector(headers));
}
