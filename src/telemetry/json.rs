//! The JSON log line format: one object per event, carrying the OpenTelemetry trace and span ids
//! of the span the event happened in.

use std::fmt;
use std::sync::{Arc, OnceLock};

use opentelemetry::trace::TraceContextExt;
use serde_json::{Map, Value};
use tracing::dispatcher::WeakDispatch;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats events as single-line JSON objects:
/// `{"timestamp","level","target","message","fields":{..},"span","trace_id","span_id"}`.
pub(crate) struct JsonFormat {
    /// Set right after the dispatch is built, so the formatter can ask the OpenTelemetry layer
    /// for a span's context (the dispatch is not reachable from inside a callback otherwise).
    pub(crate) dispatch: Arc<OnceLock<WeakDispatch>>,
}

#[derive(Default)]
struct JsonVisitor {
    message: Option<String>,
    fields: Map<String, Value>,
}

impl Visit for JsonVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = Some(text);
        } else {
            self.fields
                .insert(field.name().to_owned(), Value::String(text));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_owned());
        } else {
            self.fields
                .insert(field.name().to_owned(), Value::String(value.to_owned()));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields.insert(field.name().to_owned(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields.insert(field.name().to_owned(), value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.fields.insert(field.name().to_owned(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields.insert(field.name().to_owned(), value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.fields
            .insert(field.name().to_owned(), Value::String(value.to_string()));
    }
}

impl<S, N> FormatEvent<S, N> for JsonFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut timestamp = String::with_capacity(32);
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;

        let meta = event.metadata();
        let mut visitor = JsonVisitor::default();
        event.record(&mut visitor);

        let mut obj = Map::with_capacity(8);
        obj.insert("timestamp".into(), Value::String(timestamp));
        obj.insert("level".into(), Value::String(meta.level().to_string()));
        obj.insert("target".into(), Value::String(meta.target().to_owned()));
        obj.insert(
            "message".into(),
            Value::String(visitor.message.unwrap_or_default()),
        );
        obj.insert("fields".into(), Value::Object(visitor.fields));

        let span = event
            .parent()
            .and_then(|id| ctx.span(id))
            .or_else(|| ctx.lookup_current());
        if let Some(span) = span {
            obj.insert("span".into(), Value::String(span.name().to_owned()));
            let id = span.id();
            drop(span);
            if let Some(dispatch) = self.dispatch.get().and_then(WeakDispatch::upgrade) {
                if let Some(cx) = tracing_opentelemetry::get_otel_context(&id, &dispatch) {
                    let otel_span = cx.span();
                    let sc = otel_span.span_context();
                    if sc.is_valid() {
                        obj.insert("trace_id".into(), Value::String(sc.trace_id().to_string()));
                        obj.insert("span_id".into(), Value::String(sc.span_id().to_string()));
                    }
                }
            }
        }

        let line = serde_json::to_string(&Value::Object(obj)).map_err(|_| fmt::Error)?;
        writeln!(writer, "{line}")
    }
}
