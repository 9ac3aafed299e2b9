//! Exemplars: the trace an observation belongs to, kept per histogram bucket.
//!
//! Crate-internal. A histogram the [catalogue](crate::catalogue) marks `exemplars` keeps, for
//! each bucket, the trace id, span id, value and time of the latest observation made inside a *sampled* span
//! ([`Slot`]); the OpenMetrics exposition prints it after the bucket's sample, so Prometheus
//! stores it and Grafana links the bucket to the trace.
//!
//! Where the ids come from ([`current`]):
//!
//! 1. ids a caller set explicitly for the duration of one record ([`with_ids`]) — the HTTP
//!    layer does this, because it records when the response (or its body) completes, when the
//!    request's server span may no longer be entered;
//! 2. otherwise the active OpenTelemetry context, which `tracing-opentelemetry` sets while a
//!    span is entered (context activation, on in the subscriber recwatch builds).
//!
//! Without the `telemetry` feature [`TraceIds`] is an empty enum: `Option<TraceIds>` is
//! zero-sized, every function here returns `None` or runs its closure, and histograms allocate
//! no slots, so nothing is added to any hot path.

// Parts are unused in builds without the HTTP layer or without telemetry.
#![cfg_attr(not(all(feature = "telemetry", feature = "http")), allow(dead_code))]

#[cfg(feature = "telemetry")]
use std::cell::Cell;
#[cfg(feature = "telemetry")]
use std::sync::atomic::{fence, AtomicU64, Ordering};

/// A sampled span: W3C trace id and span id.
#[cfg(feature = "telemetry")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TraceIds {
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
}

/// No trace ids exist without the `telemetry` feature.
#[cfg(not(feature = "telemetry"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TraceIds {}

/// The ids of the request's server span, put on the response by
/// [`TraceLayer`](crate::telemetry::TraceLayer) for a
/// [`RequestMetricsLayer`](crate::http::RequestMetricsLayer) further out, which records after
/// the span was left.
#[cfg(feature = "telemetry")]
#[derive(Clone, Copy, Debug)]
pub(crate) struct ServerSpan(pub(crate) TraceIds);

#[cfg(feature = "telemetry")]
thread_local! {
    static EXPLICIT: Cell<Option<TraceIds>> = const { Cell::new(None) };
}

/// The ids of the active OpenTelemetry context's span, if it is valid and sampled.
#[inline]
pub(crate) fn active() -> Option<TraceIds> {
    #[cfg(feature = "telemetry")]
    {
        use opentelemetry::trace::TraceContextExt as _;
        opentelemetry::Context::map_current(|cx| {
            let span = cx.span();
            let sc = span.span_context();
            (sc.is_valid() && sc.is_sampled()).then(|| TraceIds {
                trace_id: u128::from_be_bytes(sc.trace_id().to_bytes()),
                span_id: u64::from_be_bytes(sc.span_id().to_bytes()),
            })
        })
    }
    #[cfg(not(feature = "telemetry"))]
    None
}

/// The ids an observation made now belongs to: explicit ones ([`with_ids`]), else
/// [`active`].
#[inline]
pub(crate) fn current() -> Option<TraceIds> {
    #[cfg(feature = "telemetry")]
    {
        EXPLICIT.with(Cell::get).or_else(active)
    }
    #[cfg(not(feature = "telemetry"))]
    None
}

/// Runs `f` with `ids` as this thread's explicit exemplar ids (when `Some`), restoring the
/// previous ones afterwards, also when `f` unwinds.
#[inline]
pub(crate) fn with_ids<R>(ids: Option<TraceIds>, f: impl FnOnce() -> R) -> R {
    #[cfg(feature = "telemetry")]
    if let Some(ids) = ids {
        struct Restore(Option<TraceIds>);
        impl Drop for Restore {
            fn drop(&mut self) {
                EXPLICIT.with(|c| c.set(self.0));
            }
        }
        let _restore = Restore(EXPLICIT.with(|c| c.replace(Some(ids))));
        return f();
    }
    #[cfg(not(feature = "telemetry"))]
    let _ = ids;
    f()
}

/// The server span ids a [`TraceLayer`](crate::telemetry::TraceLayer) put on `response`.
#[inline]
#[cfg_attr(not(feature = "telemetry"), allow(unused_variables))]
pub(crate) fn of_response<B>(response: &http::Response<B>) -> Option<TraceIds> {
    #[cfg(feature = "telemetry")]
    {
        response.extensions().get::<ServerSpan>().map(|s| s.0)
    }
    #[cfg(not(feature = "telemetry"))]
    None
}

/// One exemplar, as read from a [`Slot`].
#[cfg(feature = "telemetry")]
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Exemplar {
    pub(crate) ids: TraceIds,
    pub(crate) value: f64,
    /// Unix time of the observation, in nanoseconds.
    pub(crate) unix_nanos: u64,
}

/// The exemplar of one bucket: a sequence lock over plain atomics.
///
/// Writing is lock-free and never waits: a writer claims the slot with one compare-and-swap
/// of the sequence number (odd while writing); if another writer holds it, the observation
/// is simply not kept — the other one is just as recent. Readers (the scrape) retry a few
/// times while a write is in progress and otherwise skip the exemplar for that scrape.
/// Policy: the latest sampled observation of each bucket wins. Buckets partition values, so
/// the slow buckets hold slow requests' traces whatever the fast traffic does.
#[cfg(feature = "telemetry")]
#[derive(Default)]
pub(crate) struct Slot {
    /// Even: stable; odd: a write is in progress; 0: never written.
    seq: AtomicU64,
    trace_hi: AtomicU64,
    trace_lo: AtomicU64,
    span_id: AtomicU64,
    value_bits: AtomicU64,
    unix_nanos: AtomicU64,
}

#[cfg(feature = "telemetry")]
fn unix_nanos_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(feature = "telemetry")]
impl Slot {
    /// Keeps `value` observed now in the span `ids`, unless another write is in progress.
    #[inline]
    pub(crate) fn store(&self, ids: TraceIds, value: f64) {
        let seq = self.seq.load(Ordering::Relaxed);
        if seq & 1 == 1
            || self
                .seq
                .compare_exchange(seq, seq + 1, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        // The odd sequence number is visible before any of the fields change.
        fence(Ordering::Release);
        self.trace_hi
            .store((ids.trace_id >> 64) as u64, Ordering::Relaxed);
        self.trace_lo.store(ids.trace_id as u64, Ordering::Relaxed);
        self.span_id.store(ids.span_id, Ordering::Relaxed);
        self.value_bits.store(value.to_bits(), Ordering::Relaxed);
        self.unix_nanos.store(unix_nanos_now(), Ordering::Relaxed);
        self.seq.store(seq + 2, Ordering::Release);
    }

    /// The exemplar, if one was ever stored and no write kept getting in the way.
    pub(crate) fn load(&self) -> Option<Exemplar> {
        for _ in 0..8 {
            let before = self.seq.load(Ordering::Acquire);
            if before == 0 {
                return None;
            }
            if before & 1 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let trace_hi = self.trace_hi.load(Ordering::Relaxed);
            let trace_lo = self.trace_lo.load(Ordering::Relaxed);
            let span_id = self.span_id.load(Ordering::Relaxed);
            let value_bits = self.value_bits.load(Ordering::Relaxed);
            let unix_nanos = self.unix_nanos.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == before {
                return Some(Exemplar {
                    ids: TraceIds {
                        trace_id: (u128::from(trace_hi) << 64) | u128::from(trace_lo),
                        span_id,
                    },
                    value: f64::from_bits(value_bits),
                    unix_nanos,
                });
            }
        }
        None
    }
}

#[cfg(all(test, feature = "telemetry"))]
mod tests {
    use super::*;

    const IDS: TraceIds = TraceIds {
        trace_id: 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736,
        span_id: 0x00f0_67aa_0ba9_02b7,
    };

    #[test]
    fn slot_keeps_the_latest_and_starts_empty() {
        let slot = Slot::default();
        assert_eq!(slot.load(), None);
        slot.store(IDS, 0.5);
        let other = TraceIds {
            trace_id: 1,
            span_id: 2,
        };
        slot.store(other, 0.7);
        let e = slot.load().unwrap();
        assert_eq!(e.ids, other);
        assert_eq!(e.value, 0.7);
        assert!(e.unix_nanos > 1_600_000_000_000_000_000);
    }

    #[test]
    fn concurrent_writers_never_tear_an_exemplar() {
        // Each writer stores ids whose parts all encode the same number; a torn read would mix
        // two writers' numbers.
        let slot = Slot::default();
        std::thread::scope(|s| {
            for t in 1..=4u64 {
                let slot = &slot;
                s.spawn(move || {
                    for i in 0..20_000u64 {
                        let n = t * 1_000_000 + i;
                        let ids = TraceIds {
                            trace_id: (u128::from(n) << 64) | u128::from(n),
                            span_id: n,
                        };
                        slot.store(ids, n as f64);
                    }
                });
            }
            s.spawn(|| {
                for _ in 0..20_000 {
                    if let Some(e) = slot.load() {
                        let n = e.ids.span_id;
                        assert_eq!(e.ids.trace_id, (u128::from(n) << 64) | u128::from(n));
                        assert_eq!(e.value, n as f64);
                    }
                }
            });
        });
        assert!(slot.load().is_some());
    }

    #[test]
    fn explicit_ids_win_and_are_restored() {
        assert_eq!(current(), None, "no span, nothing explicit");
        let seen = with_ids(Some(IDS), || {
            let inner = with_ids(None, current);
            (current(), inner)
        });
        assert_eq!(seen, (Some(IDS), Some(IDS)));
        assert_eq!(current(), None);
        let unwound = std::panic::catch_unwind(|| with_ids(Some(IDS), || panic!("boom")));
        assert!(unwound.is_err());
        assert_eq!(current(), None, "restored after unwinding");
    }

    #[test]
    fn only_sampled_contexts_count() {
        use opentelemetry::trace::{
            SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
        };
        let context = |flags| {
            opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
                TraceId::from_bytes(IDS.trace_id.to_be_bytes()),
                SpanId::from_bytes(IDS.span_id.to_be_bytes()),
                flags,
                true,
                TraceState::default(),
            ))
        };
        {
            let _g = context(TraceFlags::SAMPLED).attach();
            assert_eq!(active(), Some(IDS));
        }
        {
            let _g = context(TraceFlags::default()).attach();
            assert_eq!(active(), None, "not sampled");
        }
        assert_eq!(active(), None);
    }
}
