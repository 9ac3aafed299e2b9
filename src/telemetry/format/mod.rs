//! The structured line formats ([`LogFormat::Json`](super::LogFormat::Json) and
//! [`LogFormat::Ecs`](super::LogFormat::Ecs)) and what they share: reading an event's fields,
//! the OpenTelemetry ids of the span it happened in, and the timestamp.

pub(crate) mod ecs;
pub(crate) mod json;

use std::fmt;
use std::sync::{Arc, OnceLock};

use opentelemetry::trace::TraceContextExt as _;
use serde_json::Value;
use tracing::dispatcher::WeakDispatch;
use tracing::field::{Field, Visit};
use tracing::span::Id;
use tracing::{Event, Metadata, Subscriber};
use tracing_log::NormalizeEvent as _;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::registry::LookupSpan;

/// Set right after the dispatch is built, so a formatter can ask the OpenTelemetry layer for a
/// span's context (the dispatch is not reachable from inside a callback otherwise).
pub(crate) type DispatchCell = Arc<OnceLock<WeakDispatch>>;

/// An event's message and fields, in the order they were recorded.
#[derive(Default)]
pub(crate) struct EventFields {
    pub(crate) message: Option<String>,
    pub(crate) fields: Vec<(&'static str, Value)>,
    /// Set for events bridged from the `log` crate: their `log.*` fields are metadata, already
    /// in the normalized metadata, not data.
    skip_log_fields: bool,
}

impl EventFields {
    /// Reads `event`, returning its fields and, for an event from the `log` crate, its
    /// normalized metadata (the record's own target, file and line; the event's metadata
    /// otherwise says `log`).
    pub(crate) fn read<'a>(event: &'a Event<'a>) -> (Self, Option<Metadata<'a>>) {
        let normalized = event.normalized_metadata();
        let mut fields = Self {
            skip_log_fields: normalized.is_some(),
            ..Self::default()
        };
        event.record(&mut fields);
        (fields, normalized)
    }

    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        if name == "message" {
            self.message = Some(match value {
                Value::String(s) => s,
                other => other.to_string(),
            });
        } else if !(self.skip_log_fields && name.starts_with("log.")) {
            self.fields.push((name, value));
        }
    }
}

impl Visit for EventFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }

    /// The error and its causes, outermost first: `what failed: why: why deeper`.
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        self.put(field, Value::String(text));
    }
}

/// The span an event happened in, with its OpenTelemetry ids.
pub(crate) struct SpanIds {
    /// The span's name.
    pub(crate) name: &'static str,
    /// 32 hex digits.
    pub(crate) trace_id: String,
    /// 16 hex digits: the span the event happened in.
    pub(crate) span_id: String,
    /// 16 hex digits: the outermost span of this process around the event (the server span of
    /// a request), which Elastic calls the transaction.
    pub(crate) transaction_id: String,
}

/// The ids of the event's explicit parent, else of the current span (unless the event was
/// explicitly made a root); `None` outside any span or when the span has no valid OpenTelemetry
/// context.
pub(crate) fn span_ids<S, N>(
    ctx: &FmtContext<'_, S, N>,
    event: &Event<'_>,
    dispatch: &DispatchCell,
) -> Option<SpanIds>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    let (name, id, root): (&'static str, Id, Id) = {
        let span = if event.is_root() {
            return None;
        } else if let Some(parent) = event.parent() {
            ctx.span(parent)?
        } else {
            ctx.lookup_current()?
        };
        let root = span
            .scope()
            .from_root()
            .next()
            .map_or_else(|| span.id(), |r| r.id());
        (span.name(), span.id(), root)
        // The span references are released here: the OpenTelemetry lookup below takes them again.
    };
    let dispatch = dispatch.get().and_then(WeakDispatch::upgrade)?;
    let cx = tracing_opentelemetry::get_otel_context(&id, &dispatch)?;
    let span = cx.span();
    let sc = span.span_context();
    if !sc.is_valid() {
        return None;
    }
    let transaction_id = if root == id {
        sc.span_id().to_string()
    } else {
        tracing_opentelemetry::get_otel_context(&root, &dispatch)
            .map(|cx| cx.span().span_context().span_id().to_string())
            .unwrap_or_else(|| sc.span_id().to_string())
    };
    Some(SpanIds {
        name,
        trace_id: sc.trace_id().to_string(),
        span_id: sc.span_id().to_string(),
        transaction_id,
    })
}

/// Now, as RFC 3339 in UTC with microseconds (`2026-01-31T12:00:00.123456Z`).
pub(crate) fn timestamp() -> Result<String, fmt::Error> {
    let mut text = String::with_capacity(32);
    SystemTime.format_time(&mut Writer::new(&mut text))?;
    Ok(text)
}
