//! Recording the monitor's metrics through the catalogue.

use crate::catalogue::{
    DRIFT_CHECKS_TOTAL, DRIFT_NOTIFICATIONS_TOTAL, DRIFT_NOTIFICATION_RETRIES_TOTAL, DRIFT_SCORE,
    DRIFT_WINDOW_ROWS, FEATURE_DRIFT_DETECTED, FEATURE_DRIFT_SCORE, TARGET_DRIFT_DETECTED,
    TARGET_DRIFT_SCORE,
};
use crate::drift::{ColumnDrift, ColumnStatus, DriftReport};

/// Publishes one report's gauges and counts the check; returns the drift score.
pub(crate) fn report(report: &DriftReport) -> f64 {
    let score = report.share_of_drifted_columns;
    metrics::gauge!(DRIFT_SCORE.name).set(score);
    for c in report.drift_by_columns.values() {
        if let (ColumnStatus::Ok, Some(test), Some(s)) =
            (c.status, c.stattest_name.as_deref(), c.drift_score)
        {
            let labels = [
                (FEATURE_DRIFT_SCORE.labels[0], c.column_name.clone()),
                (FEATURE_DRIFT_SCORE.labels[1], test.to_string()),
            ];
            metrics::gauge!(FEATURE_DRIFT_SCORE.name, &labels).set(s);
            metrics::gauge!(FEATURE_DRIFT_DETECTED.name, &labels)
                .set(f64::from(u8::from(c.drift_detected)));
        }
    }
    let roles: [(&str, &Option<ColumnDrift>); 2] = [
        ("target", &report.target_drift),
        ("prediction", &report.prediction_drift),
    ];
    for (role, c) in roles {
        if let Some(c) = c {
            if let (ColumnStatus::Ok, Some(test), Some(s)) =
                (c.status, c.stattest_name.as_deref(), c.drift_score)
            {
                let labels = [
                    (TARGET_DRIFT_SCORE.labels[0], role.to_string()),
                    (TARGET_DRIFT_SCORE.labels[1], test.to_string()),
                ];
                metrics::gauge!(TARGET_DRIFT_SCORE.name, &labels).set(s);
                metrics::gauge!(TARGET_DRIFT_DETECTED.name, &labels)
                    .set(f64::from(u8::from(c.drift_detected)));
            }
        }
    }
    let outcome = if report.dataset_drift {
        "drift"
    } else {
        "no_drift"
    };
    metrics::counter!(DRIFT_CHECKS_TOTAL.name, DRIFT_CHECKS_TOTAL.labels[0] => outcome)
        .increment(1);
    score
}

pub(crate) fn check_failed() {
    metrics::counter!(DRIFT_CHECKS_TOTAL.name, DRIFT_CHECKS_TOTAL.labels[0] => "error")
        .increment(1);
}

pub(crate) fn window_rows(rows: usize) {
    metrics::gauge!(DRIFT_WINDOW_ROWS.name).set(rows as f64);
}

pub(crate) fn notification(notifier: &'static str, outcome: &'static str) {
    metrics::counter!(
        DRIFT_NOTIFICATIONS_TOTAL.name,
        DRIFT_NOTIFICATIONS_TOTAL.labels[0] => notifier,
        DRIFT_NOTIFICATIONS_TOTAL.labels[1] => outcome
    )
    .increment(1);
}

pub(crate) fn retry(notifier: &'static str) {
    metrics::counter!(
        DRIFT_NOTIFICATION_RETRIES_TOTAL.name,
        DRIFT_NOTIFICATION_RETRIES_TOTAL.labels[0] => notifier
    )
    .increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::DriftDetector;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use polars::prelude::*;

    #[test]
    fn report_gauges_use_the_catalogue_labels() {
        let reference = df!(
            "a" => (0..300).map(|i| i as f64).collect::<Vec<_>>(),
            "b" => (0..300).map(|i| (i % 7) as f64).collect::<Vec<_>>(),
        )
        .unwrap();
        let current = df!(
            "a" => (0..300).map(|i| i as f64 + 200.0).collect::<Vec<_>>(),
            "b" => (0..300).map(|i| (i % 7) as f64).collect::<Vec<_>>(),
        )
        .unwrap();
        let r = DriftDetector::new().run(&reference, &current).unwrap();
        let rec = DebuggingRecorder::new();
        let snap = rec.snapshotter();
        let score = metrics::with_local_recorder(&rec, || report(&r));
        assert_eq!(score, 0.5);
        let mut seen = std::collections::BTreeMap::new();
        for (key, _, _, value) in snap.snapshot().into_vec() {
            let k = key.key();
            let labels: Vec<String> = k
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            let v = match value {
                DebugValue::Gauge(g) => g.into_inner(),
                DebugValue::Counter(c) => c as f64,
                DebugValue::Histogram(_) => f64::NAN,
            };
            seen.insert(format!("{}{{{}}}", k.name(), labels.join(",")), v);
        }
        assert_eq!(seen["recommendation_drift_score{}"], 0.5);
        assert_eq!(
            seen["recommendation_feature_drift_detected{feature=a,stattest=ks}"],
            1.0
        );
        assert_eq!(
            seen["recommendation_feature_drift_detected{feature=b,stattest=ks}"],
            0.0
        );
        assert!(seen["recommendation_feature_drift_score{feature=a,stattest=ks}"] < 1e-10);
        assert_eq!(
            seen["recommendation_drift_checks_total{outcome=drift}"],
            1.0
        );
    }
}
