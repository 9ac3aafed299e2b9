//! Handle caching for the global recorder: calls under the global recorder keep their
//! handles once `cache_global_recorder_handles` ran, while calls under a local recorder still
//! go to the local recorder. Own test binary: it installs a global recorder.
#![cfg(feature = "macros")]

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use recwatch::inference::{cache_global_recorder_handles, InferenceModel};
use recwatch::track_inference;

#[track_inference(model = "cached")]
fn cached(fail: bool) -> Result<(), ()> {
    if fail {
        Err(())
    } else {
        Ok(())
    }
}

fn counts(snapshotter: &Snapshotter) -> Vec<(String, usize)> {
    let mut out: Vec<_> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(ck, _, _, v)| {
            let labels: Vec<String> = ck
                .key()
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            let DebugValue::Histogram(v) = v else {
                panic!("not a histogram")
            };
            (
                format!("{}{{{}}}", ck.key().name(), labels.join(",")),
                v.len(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn global_handles_are_cached_and_local_recorders_still_win() {
    assert!(
        !cache_global_recorder_handles(),
        "no global recorder installed yet"
    );
    let global = DebuggingRecorder::new();
    let global_snapshots = global.snapshotter();
    global.install().expect("first global recorder");
    assert!(cache_global_recorder_handles());

    let model = InferenceModel::new("model_api");
    for _ in 0..3 {
        cached(false).unwrap();
        model.time(|| ());
        model.record_batch_size(4);
    }
    cached(true).unwrap_err();

    // A local recorder set after handles were cached for the global one still gets its calls.
    let local = DebuggingRecorder::new();
    metrics::with_local_recorder(&local, || {
        cached(false).unwrap();
        model.time(|| ());
    });
    // And the global one keeps working afterwards.
    cached(false).unwrap();

    assert_eq!(
        counts(&local.snapshotter()),
        vec![
            (
                "model_inference_duration_seconds{model=cached,outcome=ok}".into(),
                1
            ),
            (
                "model_inference_duration_seconds{model=model_api,outcome=ok}".into(),
                1
            ),
        ]
    );
    assert_eq!(
        counts(&global_snapshots),
        vec![
            ("model_inference_batch_size{model=model_api}".into(), 3),
            (
                "model_inference_duration_seconds{model=cached,outcome=error}".into(),
                1
            ),
            (
                "model_inference_duration_seconds{model=cached,outcome=ok}".into(),
                4
            ),
            (
                "model_inference_duration_seconds{model=model_api,outcome=ok}".into(),
                3
            ),
        ]
    );
}
