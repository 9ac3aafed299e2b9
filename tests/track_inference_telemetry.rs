//! With the `telemetry` feature, each `#[track_inference]` call runs in an `inference` span
//! that nests under the caller's span and is entered on every poll of an async call.
#![cfg(all(feature = "macros", feature = "telemetry"))]

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use recwatch::track_inference;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Instrument, Metadata, Subscriber};

#[derive(Debug, Default, Clone)]
struct SpanRec {
    name: &'static str,
    fields: BTreeMap<String, String>,
    parent: Option<u64>,
    enters: usize,
}

#[derive(Default)]
struct State {
    next: u64,
    spans: HashMap<u64, SpanRec>,
    stack: Vec<u64>,
}

/// A minimal subscriber that keeps every span (single-threaded tests only).
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<State>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut state = self.0.lock().unwrap();
        state.next += 1;
        let id = state.next;
        let parent = match attrs.parent() {
            Some(p) => Some(p.into_u64()),
            None if attrs.is_contextual() => state.stack.last().copied(),
            None => None,
        };
        let mut rec = SpanRec {
            name: attrs.metadata().name(),
            parent,
            ..SpanRec::default()
        };
        attrs.record(&mut Fields(&mut rec.fields));
        state.spans.insert(id, rec);
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut state = self.0.lock().unwrap();
        if let Some(rec) = state.spans.get_mut(&span.into_u64()) {
            values.record(&mut Fields(&mut rec.fields));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, span: &Id) {
        let mut state = self.0.lock().unwrap();
        state.stack.push(span.into_u64());
        if let Some(rec) = state.spans.get_mut(&span.into_u64()) {
            rec.enters += 1;
        }
    }
    fn exit(&self, _: &Id) {
        self.0.lock().unwrap().stack.pop();
    }
}

impl Capture {
    fn named(&self, name: &str) -> Vec<(u64, SpanRec)> {
        let state = self.0.lock().unwrap();
        let mut v: Vec<_> = state
            .spans
            .iter()
            .filter(|(_, r)| r.name == name)
            .map(|(id, r)| (*id, r.clone()))
            .collect();
        v.sort_by_key(|(id, _)| *id);
        v
    }
}

#[track_inference(model = "ranker", version = "v3")]
fn rank(fail: bool) -> Result<u8, String> {
    if fail {
        return Err("no".into());
    }
    Ok(1)
}

#[track_inference(model = "exploding")]
fn explode() -> u8 {
    panic!("boom")
}

#[track_inference(model = "llm")]
async fn generate() -> u8 {
    tokio::task::yield_now().await;
    tokio::task::yield_now().await;
    2
}

#[test]
fn sync_call_span_nests_under_request_span_with_outcome() {
    let capture = Capture::default();
    tracing::subscriber::with_default(capture.clone(), || {
        let request = tracing::info_span!("request");
        request.in_scope(|| {
            assert_eq!(rank(false), Ok(1));
            assert!(rank(true).is_err());
        });
    });
    let (request_id, _) = capture.named("request")[0];
    let spans = capture.named("inference");
    assert_eq!(spans.len(), 2);
    for ((_, span), outcome) in spans.iter().zip(["ok", "error"]) {
        assert_eq!(span.parent, Some(request_id));
        assert_eq!(span.fields["model"], "ranker");
        assert_eq!(span.fields["model_version"], "v3");
        assert_eq!(span.fields["outcome"], outcome);
        assert_eq!(span.enters, 1);
    }
}

#[test]
fn panicking_sync_call_records_panic_on_its_span() {
    let capture = Capture::default();
    tracing::subscriber::with_default(capture.clone(), || {
        let caught = std::panic::catch_unwind(explode);
        assert!(caught.is_err());
    });
    let spans = capture.named("inference");
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].1.fields["model"], "exploding");
    assert_eq!(spans[0].1.fields["outcome"], "panic");
}

#[test]
fn async_call_span_is_entered_on_every_poll() {
    let capture = Capture::default();
    tracing::subscriber::with_default(capture.clone(), || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(
            async { assert_eq!(generate().await, 2) }.instrument(tracing::info_span!("request")),
        );
    });
    let (request_id, _) = capture.named("request")[0];
    let spans = capture.named("inference");
    assert_eq!(spans.len(), 1);
    let span = &spans[0].1;
    assert_eq!(span.parent, Some(request_id));
    assert_eq!(span.fields["model"], "llm");
    assert!(!span.fields.contains_key("model_version"));
    assert_eq!(span.fields["outcome"], "ok");
    assert_eq!(
        span.enters, 3,
        "three polls: two yields and the completing one"
    );
}
