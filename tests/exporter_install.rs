//! Global install, double install and bounded histogram memory without scrapes.

mod common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use recwatch::exporter::{ExporterBuilder, MetricsHandle};
use recwatch::ExporterError;

fn handle() -> &'static MetricsHandle {
    static HANDLE: OnceLock<MetricsHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        ExporterBuilder::new()
            .with_service("install-test")
            .set_upkeep_interval(Duration::from_millis(20))
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

/// Waits until the upkeep thread has run twice more (bounded by a generous deadline).
fn wait_for_upkeep(handle: &MetricsHandle) {
    let start = handle.upkeep_runs();
    let deadline = Instant::now() + Duration::from_secs(60);
    while handle.upkeep_runs() < start + 2 {
        assert!(Instant::now() < deadline, "upkeep thread did not run");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn histogram_memory_stays_flat_without_scrapes() {
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
    wait_for_upkeep(handle);
    let before = common::rss_bytes();
    for _ in 0..4 {
        record_million();
        wait_for_upkeep(handle);
    }
    let growth = common::rss_bytes().saturating_sub(before);
    // Without upkeep, 4 million pending f64 samples would hold at least 32 MB.
    assert!(
        growth < 8 << 20,
        "RSS grew by {growth} bytes over 4M samples"
    );
    let runs_before_render = handle.upkeep_runs();
    let text = handle.render();
    let count = common::sample(
        &text,
        "recommendation_request_duration_seconds_count",
        &[("endpoint", "/mem")],
    )
    .expect("histogram exported");
    // metrics-util's sample bucket can drop a sample that is being pushed at the very instant a
    // drain swaps the bucket out (an upstream race; see docs/metrics.md). This loop writes
    // back-to-back, the worst case, so allow at most one lost sample per drain.
    let drains = runs_before_render as f64 + 1.0;
    assert!(
        count <= 5_000_000.0 && count >= 5_000_000.0 - drains,
        "count {count} after {drains} drains"
    );
}
