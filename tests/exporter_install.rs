//! Global install, double install, and flat memory with exact counts without scrapes.

mod common;

use std::sync::OnceLock;
use std::time::Duration;

use recwatch::exporter::{ExporterBuilder, MetricsHandle};
use recwatch::ExporterError;

fn handle() -> &'static MetricsHandle {
    static HANDLE: OnceLock<MetricsHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        ExporterBuilder::new()
            .with_service("install-test")
            .install()
            .expect("first install succeeds")
    })
}

#[test]
fn second_install_is_a_typed_error_and_keeps_the_first() {
    let handle = handle();
    metrics::counter!("kept_total").increment(3);
    let err = ExporterBuilder::new().install().unwrap_err();
    assert!(matches!(err, ExporterError::AlreadyInstalled), "{err:?}");
    metrics::counter!("kept_total").increment(1);
    let text = handle.render();
    assert_eq!(
        common::sample(&text, "kept_total", &[("service", "install-test")]),
        Some(4.0)
    );
    assert!(recwatch::exporter::installed().is_some());
}

#[test]
fn histograms_are_exact_and_memory_stays_flat_without_scrapes() {
    let handle = handle();
    let histogram =
        metrics::histogram!("recommendation_request_duration_seconds", "endpoint" => "/mem");
    let record_million = || {
        for i in 0..1_000_000u32 {
            histogram.record(f64::from(i % 1000) * 0.001);
        }
    };
    // Warm up allocator pools with one round.
    record_million();
    let before = common::rss_bytes();
    for _ in 0..4 {
        record_million();
    }
    let growth = common::rss_bytes().saturating_sub(before);
    // A sample-buffering histogram would hold 4 million f64 samples: at least 32 MB.
    assert!(
        growth < 8 << 20,
        "RSS grew by {growth} bytes over 4M samples"
    );
    let text = handle.render();
    // Fixed bucket counters: every observation is counted, none is buffered or lost.
    let count = |text: &str, le: Option<&str>| match le {
        Some(le) => common::sample(
            text,
            "recommendation_request_duration_seconds_bucket",
            &[("endpoint", "/mem"), ("le", le)],
        ),
        None => common::sample(
            text,
            "recommendation_request_duration_seconds_count",
            &[("endpoint", "/mem")],
        ),
    };
    assert_eq!(count(&text, None), Some(5_000_000.0));
    assert_eq!(count(&text, Some("+Inf")), Some(5_000_000.0));
    // 0.000..0.999 evenly: 6 of every 1000 values are <= 0.005.
    assert_eq!(count(&text, Some("0.005")), Some(30_000.0));
}

#[test]
fn no_observation_is_lost_while_scraping_concurrently() {
    let handle = handle();
    let histogram =
        metrics::histogram!("recommendation_request_duration_seconds", "endpoint" => "/race");
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let scraper = s.spawn(|| {
            let mut scrapes = 0u32;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                handle.render();
                scrapes += 1;
            }
            scrapes
        });
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let h = histogram.clone();
                s.spawn(move || {
                    for _ in 0..500_000 {
                        h.record(0.02);
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(scraper.join().unwrap() > 0);
    });
    let text = handle.render();
    let count = common::sample(
        &text,
        "recommendation_request_duration_seconds_count",
        &[("endpoint", "/race")],
    );
    assert_eq!(count, Some(1_000_000.0));
}

#[test]
fn a_collector_may_register_another_collector() {
    // Collectors run with no lock held: one that adds another must not deadlock.
    let (recorder, handle) = ExporterBuilder::new().build();
    let gauge = metrics::with_local_recorder(&recorder, || metrics::gauge!("reentrant_gauge"));
    let inner_handle = handle.clone();
    let added = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = added.clone();
    handle.add_collector(move || {
        if !flag.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let gauge = gauge.clone();
            inner_handle.add_collector(move || gauge.set(42.0));
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let renderer = handle.clone();
    std::thread::spawn(move || {
        let first = renderer.render();
        let second = renderer.render();
        let _ = tx.send((first, second));
    });
    let (first, second) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("render returned (no deadlock)");
    assert!(added.load(std::sync::atomic::Ordering::SeqCst));
    // Added during the first render, so first run at the second.
    assert!(!first.contains("reentrant_gauge 42"), "{first}");
    assert!(second.contains("reentrant_gauge 42"), "{second}");
}
