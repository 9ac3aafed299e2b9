//! The drift monitor end to end: recorded rows, a check on a background thread, and the
//! webhook notifier posting to a local HTTP receiver (with failures, retries and backoff).
#![cfg(feature = "drift")]

mod common;

use polars::prelude::*;
use recwatch::drift::{
    DriftAlert, DriftMonitorBuilder, FeatureValue, LogNotifier, Notifier, NotifyError,
    ReferenceProfile, SketchOptions, WebhookNotifier, Window,
};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn reference() -> DataFrame {
    df!(
        "k" => (0..600).map(|i| (i % 10 + 1) as f64).collect::<Vec<_>>(),
        "top_score" => (0..600).map(|i| 0.5 + (i % 50) as f64 / 100.0).collect::<Vec<_>>(),
        "device" => (0..600).map(|i| ["mobile", "desktop", "tv"][i % 3]).collect::<Vec<_>>(),
    )
    .unwrap()
}

fn record_shifted(m: &recwatch::drift::DriftMonitor, n: usize) {
    for i in 0..n {
        m.record([
            ("k", FeatureValue::from((i % 3 + 40) as f64)),
            (
                "top_score",
                FeatureValue::from(5.0 + (i % 50) as f64 / 10.0),
            ),
            ("device", FeatureValue::from("tv")),
        ]);
    }
}

#[test]
fn shifted_traffic_posts_to_the_webhook() {
    let (url, rx) = common::webhook::receiver(0);
    let monitor = DriftMonitorBuilder::new(reference())
        .with_window(Window::Rows(300))
        .with_interval(Duration::from_secs(3600))
        .add_notifier(WebhookNotifier::new(url))
        .spawn()
        .unwrap();
    record_shifted(&monitor, 300);
    monitor.check_now();
    let body = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("no webhook post");
    assert!(body["score"].as_f64().unwrap() > 0.5, "{body}");
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .contains("Data drift detected"),
        "{body}"
    );
    assert!(body["text"].as_str().unwrap().contains("Action:"), "{body}");
    let drifted: Vec<&str> = body["drifted_features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        drifted.contains(&"k") && drifted.contains(&"top_score"),
        "{body}"
    );
    let last = monitor.last_check().unwrap();
    assert!(last.score > 0.5);
    assert_eq!(last.window_rows, 300);
    monitor.shutdown(Duration::from_secs(30)).unwrap();
}

/// Waits for the monitor's first check.
fn first_check(m: &recwatch::drift::DriftMonitor) -> recwatch::drift::CheckSummary {
    for _ in 0..6000 {
        if let Some(c) = m.last_check() {
            return c;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the check did not run");
}

#[test]
fn a_monitor_over_a_profile_checks_as_one_over_the_frame() {
    let (url, rx) = common::webhook::receiver(0);
    let profile = ReferenceProfile::fit_sketch(reference().lazy(), SketchOptions::new()).unwrap();
    let spawn = |b: DriftMonitorBuilder| {
        b.with_window(Window::Rows(300))
            .with_interval(Duration::from_secs(3600))
            .spawn()
            .unwrap()
    };
    let over_profile =
        spawn(DriftMonitorBuilder::from_profile(profile).add_notifier(WebhookNotifier::new(url)));
    let over_frame = spawn(DriftMonitorBuilder::new(reference()));
    for m in [&over_profile, &over_frame] {
        record_shifted(m, 300);
        m.check_now();
    }
    let (a, b) = (first_check(&over_profile), first_check(&over_frame));
    assert!(a.score > 0.5);
    assert_eq!(a.report, b.report);
    let body = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("no webhook post");
    assert!(body["score"].as_f64().unwrap() > 0.5, "{body}");
    over_profile.shutdown(Duration::from_secs(30)).unwrap();
    over_frame.shutdown(Duration::from_secs(30)).unwrap();
}

#[test]
fn normal_traffic_does_not_alert() {
    let (url, rx) = common::webhook::receiver(0);
    let monitor = DriftMonitorBuilder::new(reference())
        .with_window(Window::Rows(300))
        .with_interval(Duration::from_secs(3600))
        .add_notifier(WebhookNotifier::new(url))
        .spawn()
        .unwrap();
    for i in 0..300 {
        monitor.record([
            ("k", FeatureValue::from((i % 10 + 1) as f64)),
            (
                "top_score",
                FeatureValue::from(0.5 + (i % 50) as f64 / 100.0),
            ),
            (
                "device",
                FeatureValue::from(["mobile", "desktop", "tv"][i % 3]),
            ),
        ]);
    }
    monitor.check_now();
    // wait for the check itself (not for time to pass)
    let last = first_check(&monitor);
    assert!(last.score <= 0.5, "{}", last.report.to_json_pretty());
    monitor.shutdown(Duration::from_secs(30)).unwrap();
    assert!(rx.try_recv().is_err(), "no alert for normal traffic");
}

#[test]
fn failed_deliveries_are_retried() {
    let (url, rx) = common::webhook::receiver(2);
    let monitor = DriftMonitorBuilder::new(reference())
        .with_window(Window::Rows(300))
        .with_interval(Duration::from_secs(3600))
        .with_retries(3, Duration::from_millis(10))
        .add_notifier(WebhookNotifier::new(url))
        .spawn()
        .unwrap();
    record_shifted(&monitor, 300);
    monitor.check_now();
    // two 500s (bodies received, then retried), then the delivery that succeeds
    for _ in 0..3 {
        rx.recv_timeout(Duration::from_secs(60))
            .expect("a delivery attempt");
    }
    monitor.shutdown(Duration::from_secs(30)).unwrap();
}

struct Flaky(Arc<Mutex<usize>>);
impl Notifier for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }
    fn notify(&self, _: &DriftAlert) -> Result<(), NotifyError> {
        *self.0.lock().unwrap() += 1;
        Err(NotifyError::Failed {
            reason: "always down".into(),
        })
    }
}

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);
impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_failing_notifier_gives_up_and_others_still_deliver() {
    let attempts = Arc::new(Mutex::new(0));
    let sink = Sink::default();
    let monitor = DriftMonitorBuilder::new(reference())
        .with_window(Window::Rows(300))
        .with_interval(Duration::from_secs(3600))
        .with_retries(2, Duration::from_millis(1))
        .add_notifier(Flaky(Arc::clone(&attempts)))
        .add_notifier(LogNotifier::new(sink.clone()))
        .spawn()
        .unwrap();
    record_shifted(&monitor, 300);
    monitor.check_now();
    for _ in 0..6000 {
        if !sink.0.lock().unwrap().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.starts_with("recwatch drift alert: Data drift detected"),
        "{text}"
    );
    assert_eq!(*attempts.lock().unwrap(), 3, "one try and two retries");
    monitor.shutdown(Duration::from_secs(30)).unwrap();
}

#[test]
fn invalid_options_are_typed_errors() {
    let e = DriftMonitorBuilder::new(reference())
        .with_alert_threshold(1.5)
        .spawn()
        .unwrap_err();
    assert!(matches!(
        e,
        recwatch::drift::DriftError::InvalidOption { .. }
    ));
    let e = DriftMonitorBuilder::new(reference())
        .with_window(Window::Rows(0))
        .spawn()
        .unwrap_err();
    assert!(matches!(
        e,
        recwatch::drift::DriftError::InvalidOption { .. }
    ));
}
