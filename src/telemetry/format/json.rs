//! [`LogFormat::Json`](crate::telemetry::LogFormat::Json): one object per event, carrying the
//! OpenTelemetry trace and span ids of the span the event happened in.

use std::fmt;

use serde_json::{Map, Value};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::{span_ids, timestamp, DispatchCell, EventFields};

/// Formats events as single-line JSON objects:
/// `{"timestamp","level","target","message","fields":{..},"span","trace_id","span_id"}`.
pub(crate) struct JsonFormat {
    pub(crate) dispatch: DispatchCell,
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
        let (fields, normalized) = EventFields::read(event);
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());

        let mut obj = Map::with_capacity(8);
        obj.insert("timestamp".into(), Value::String(timestamp()?));
        obj.insert("level".into(), Value::String(meta.level().to_string()));
        obj.insert("target".into(), Value::String(meta.target().to_owned()));
        obj.insert(
            "message".into(),
            Value::String(fields.message.unwrap_or_default()),
        );
        obj.insert(
            "fields".into(),
            Value::Object(
                fields
                    .fields
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            ),
        );
        if let Some(ids) = span_ids(ctx, event, &self.dispatch) {
            obj.insert("span".into(), Value::String(ids.name.to_owned()));
            obj.insert("trace_id".into(), Value::String(ids.trace_id));
            obj.insert("span_id".into(), Value::String(ids.span_id));
        } else if let Some(span) = event
            .parent()
            .and_then(|id| ctx.span(id))
            .or_else(|| ctx.lookup_current())
        {
            obj.insert("span".into(), Value::String(span.name().to_owned()));
        }

        let line = serde_json::to_string(&Value::Object(obj)).map_err(|_| fmt::Error)?;
        writeln!(writer, "{line}")
    }
}
