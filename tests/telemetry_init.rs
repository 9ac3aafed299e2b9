//! `init` installs the global subscriber once; a second call is a typed error, not a panic.
//! Its own test binary, because it changes process-global state.
#![cfg(feature = "telemetry")]

use recwatch::telemetry::{self, LogFormat, TelemetryConfig, TelemetryError};

#[test]
fn second_init_reports_subscriber_already_set() {
    let guard = telemetry::init(
        TelemetryConfig::from_env()
            .with_filter("info")
            .with_log_format(LogFormat::Human)
            .with_trace_export(false),
    )
    .expect("first init");
    tracing::info!(answer = 42, "telemetry is up");

    let err = telemetry::init(TelemetryConfig::from_env().with_trace_export(false)).unwrap_err();
    assert!(
        matches!(err, TelemetryError::SubscriberAlreadySet { .. }),
        "{err}"
    );
    // The crate-root re-export is the same type.
    let _: &recwatch::TelemetryError = &err;
    guard.shutdown().expect("shutdown without export");
}
