//! [`LogFormat::Ecs`](crate::telemetry::LogFormat::Ecs): Elastic Common Schema JSON lines, as
//! the ECS logging specification (`elastic/ecs-logging`, `spec/spec.json`) lays them out.
//!
//! - `@timestamp`, `log.level` and `message` come first, in that order, then `ecs.version`;
//! - `log.level` and `ecs.version` are dotted top-level keys, never nested objects, and so is
//!   every other field: one flat object (Filebeat's `ndjson` parser with `expand_keys: true`,
//!   or Elasticsearch itself, expands the dots);
//! - `service.name`, `service.version` and `event.dataset` (= `service.name` when the name was
//!   configured) from the resource; `trace.id`, `span.id` and `transaction.id` (the outermost
//!   span of this process, e.g. the server span) from the span the event happened in;
//! - the event's fields under their own names, so events that use ECS names
//!   (`http.request.method`, `event.duration`, ...) land on the ECS fields; a field named
//!   `error` becomes `error.message`. A field that would collide with one written here goes
//!   under `labels`, its key de-dotted as the specification requires.

use std::fmt;
use std::fmt::Write as _;

use serde_json::Value;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use super::{span_ids, timestamp, DispatchCell, EventFields};

/// The ECS version the lines conform to.
pub(crate) const ECS_VERSION: &str = "8.11.0";

/// Keys this format writes itself, and the object roots they live under: an event field with
/// one of these names would clash with them once the dots are expanded.
const RESERVED: &[&str] = &[
    "@timestamp",
    "log.level",
    "message",
    "ecs.version",
    "log.logger",
    "service.name",
    "service.version",
    "event.dataset",
    "process.thread.name",
    "trace.id",
    "transaction.id",
    "span.id",
    "labels",
    "log",
    "ecs",
    "service",
    "process",
    "trace",
    "transaction",
    "span",
    "event",
];

/// Formats events as ECS JSON lines.
pub(crate) struct EcsFormat {
    pub(crate) dispatch: DispatchCell,
    /// `,"ecs.version":…,"service.name":…` — the same on every line, serialized once.
    constant: String,
}

impl EcsFormat {
    pub(crate) fn new(
        dispatch: DispatchCell,
        service_name: &str,
        service_version: Option<&str>,
        dataset: Option<&str>,
    ) -> Self {
        let mut constant = String::with_capacity(128);
        push(&mut constant, "ecs.version", ECS_VERSION);
        push(&mut constant, "service.name", service_name);
        if let Some(v) = service_version {
            push(&mut constant, "service.version", v);
        }
        if let Some(d) = dataset {
            push(&mut constant, "event.dataset", d);
        }
        Self { dispatch, constant }
    }
}

/// Appends `,"key":"value"`.
fn push(out: &mut String, key: &str, value: &str) {
    push_value(out, key, &Value::String(value.to_owned()));
}

/// Appends `,"key":value`.
fn push_value(out: &mut String, key: &str, value: &Value) {
    out.push(',');
    out.push_str(&Value::String(key.to_owned()).to_string());
    out.push(':');
    // Writing into a String cannot fail.
    let _ = write!(out, "{value}");
}

/// A `labels` key as the specification wants it: no `.`, `*` or `\`.
fn label_key(name: &str) -> String {
    name.replace(['.', '*', '\\'], "_")
}

impl<S, N> FormatEvent<S, N> for EcsFormat
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

        let mut line = String::with_capacity(512);
        line.push_str("{\"@timestamp\":");
        line.push_str(&Value::String(timestamp()?).to_string());
        push(&mut line, "log.level", meta.level().as_str());
        push(
            &mut line,
            "message",
            fields.message.as_deref().unwrap_or_default(),
        );
        line.push_str(&self.constant);
        push(&mut line, "log.logger", meta.target());
        if let Some(name) = std::thread::current().name() {
            push(&mut line, "process.thread.name", name);
        }
        if let Some(ids) = span_ids(ctx, event, &self.dispatch) {
            push(&mut line, "trace.id", &ids.trace_id);
            push(&mut line, "transaction.id", &ids.transaction_id);
            push(&mut line, "span.id", &ids.span_id);
        }

        let mut labels = serde_json::Map::new();
        for (name, value) in fields.fields {
            if name == "error" {
                push_value(&mut line, "error.message", &value);
            } else if RESERVED.contains(&name) {
                let text = match value {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                labels.insert(label_key(name), Value::String(text));
            } else {
                push_value(&mut line, name, &value);
            }
        }
        if !labels.is_empty() {
            push_value(&mut line, "labels", &Value::Object(labels));
        }
        line.push('}');
        writeln!(writer, "{line}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_keys_are_de_dotted() {
        assert_eq!(label_key("a.b*c\\d"), "a_b_c_d");
    }

    #[test]
    fn constant_part_is_escaped_json() {
        let f = EcsFormat::new(Default::default(), "svc \"x\"", Some("1.0"), Some("svc"));
        let obj: serde_json::Map<String, Value> =
            serde_json::from_str(&format!("{{\"k\":1{}}}", f.constant)).unwrap();
        assert_eq!(obj["service.name"], "svc \"x\"");
        assert_eq!(obj["ecs.version"], ECS_VERSION);
        assert_eq!(obj["event.dataset"], "svc");
    }
}
