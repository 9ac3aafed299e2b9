//! `install` makes the subscriber global once (a second call is a typed error, not a panic) and
//! bridges the `log` crate's records into the same output. Its own test binary, because it
//! changes process-global state.
#![cfg(feature = "telemetry")]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use recwatch::telemetry::{LogFormat, TelemetryConfig, TelemetryError};

struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn install_once_and_bridge_the_log_crate() {
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink = out.clone();
    let guard = TelemetryConfig::new()
        .with_filter("info,noisy=error")
        .with_log_format(LogFormat::Ecs)
        .with_writer(move || Shared(sink.clone()))
        .install()
        .expect("first install");
    tracing::info!(answer = 42, "telemetry is up");
    log::info!(target: "some_library", "a record from the log crate");
    log::info!(target: "noisy", "dropped by the filter");
    log::debug!(target: "some_library", "below the filter");

    let err = TelemetryConfig::new().install().unwrap_err();
    assert!(
        matches!(err, TelemetryError::SubscriberAlreadySet { .. }),
        "{err}"
    );
    // The crate-root re-export is the same type.
    let _: &recwatch::TelemetryError = &err;

    guard.force_flush().unwrap();
    let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let bridged = lines
        .iter()
        .find(|l| l["message"] == "a record from the log crate")
        .unwrap_or_else(|| panic!("log record missing:\n{text}"));
    assert_eq!(
        bridged["log.logger"], "some_library",
        "the record's own target"
    );
    assert_eq!(bridged["log.level"], "INFO");
    assert!(bridged.get("log.target").is_none(), "{bridged}");
    assert!(!text.contains("dropped by the filter"), "{text}");
    assert!(!text.contains("below the filter"), "{text}");
    assert!(text.contains("telemetry is up"));
    guard
        .shutdown(Duration::from_secs(5))
        .expect("shutdown without export");
}
