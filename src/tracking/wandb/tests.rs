use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use prost::Message as _;

use super::log::{read_records, Stop};
use super::proto::{Record, RecordType};
use super::*;

const WAIT: Duration = Duration::from_secs(30);

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "recwatch-wandb-{name}-{}-{}",
            std::process::id(),
            random_text(6)
        ));
        fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn records_of(run_dir: &Path, id: &str) -> (Vec<Record>, Stop) {
    let data = fs::read(run_dir.join(format!("run-{id}.wandb"))).unwrap();
    let (raw, stop) = read_records(&data);
    let records = raw
        .iter()
        .map(|r| Record::decode(&r[..]).expect("a W&B record"))
        .collect();
    (records, stop)
}

fn kinds(records: &[Record]) -> Vec<&'static str> {
    records
        .iter()
        .map(|r| match r.record_type.as_ref().unwrap() {
            RecordType::History(_) => "history",
            RecordType::Summary(_) => "summary",
            RecordType::Config(_) => "config",
            RecordType::Files(_) => "files",
            RecordType::Telemetry(_) => "telemetry",
            RecordType::Run(_) => "run",
            RecordType::Exit(_) => "exit",
            RecordType::Header(_) => "header",
            RecordType::Environment(_) => "environment",
        })
        .collect()
}

/// History rows as `step -> {dotted key -> value_json}`.
fn history(records: &[Record]) -> BTreeMap<i64, BTreeMap<String, String>> {
    records
        .iter()
        .filter_map(|r| match &r.record_type {
            Some(RecordType::History(h)) => Some((
                h.step.as_ref().unwrap().num,
                h.item
                    .iter()
                    .map(|i| (i.nested_key.join("."), i.value_json.clone()))
                    .collect(),
            )),
            _ => None,
        })
        .collect()
}

fn builder(dir: &TempDir) -> RunBuilder {
    RunBuilder::new().with_dir(&dir.0)
}

#[test]
fn a_run_writes_the_records_of_the_official_client() {
    let dir = TempDir::new("records");
    let run = builder(&dir)
        .with_project("movie-recommendation")
        .with_name("mf-baseline")
        .with_notes("notes")
        .with_group("sweep-1")
        .add_tag("recommendation")
        .add_tag("lora")
        .add_config("learning_rate", 0.01)
        .add_config("model", serde_json::json!({"dim": 64}))
        .spawn()
        .unwrap();
    let id = run.id().unwrap().to_owned();
    assert_eq!(id.len(), 8);
    let run_dir = run.dir().unwrap().to_owned();
    let name = run_dir.file_name().unwrap().to_str().unwrap().to_owned();
    assert!(
        name.starts_with("offline-run-") && name.ends_with(&format!("-{id}")),
        "{name}"
    );
    assert_eq!(run_dir.parent().unwrap(), dir.0.join("wandb"));

    assert_eq!(
        run.log(Values::new().add_scalar("train_loss", 0.5))
            .unwrap(),
        0
    );
    assert_eq!(
        run.log(
            Values::new()
                .add_scalar("train_loss", 0.25)
                .add_map("genre", [("Drama", 0.5), ("Comedy", 0.5)])
        )
        .unwrap(),
        1
    );
    run.log_at(5, Values::new().add_scalar("val_loss", f64::NAN))
        .unwrap();
    assert_eq!(run.log(Values::new().add_integer("epoch", 7)).unwrap(), 6);
    run.update_summary(Values::new().add_scalar("rmse", 0.9))
        .unwrap();
    run.update_config("late", "yes").unwrap();
    let report = run.finish(3, WAIT).unwrap();
    assert_eq!(report.run_dir.as_deref(), Some(run_dir.as_path()));
    assert_eq!(report.dropped, 0);

    let (records, stop) = records_of(&run_dir, &id);
    assert_eq!(stop, Stop::End);
    assert_eq!(report.records, records.len() as u64);
    assert_eq!(
        kinds(&records),
        [
            "header",
            "run",
            "environment",
            "telemetry", // start
            "summary",
            "history",
            "summary",
            "history",
            "summary",
            "history",
            "summary",
            "history", // four rows
            "telemetry",
            "summary",
            "config", // summary update, config update
            "telemetry",
            "summary",
            "exit", // finish
        ]
    );
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.num, i as i64 + 1);
        assert_eq!(r.info.as_ref().unwrap().stream_id, id);
    }
    let Some(RecordType::Run(run_record)) = &records[1].record_type else {
        panic!("no run record")
    };
    assert_eq!(run_record.run_id, id);
    assert_eq!(run_record.project, "movie-recommendation");
    assert_eq!(run_record.display_name, "mf-baseline");
    assert_eq!(run_record.run_group, "sweep-1");
    assert_eq!(run_record.notes, "notes");
    assert_eq!(run_record.tags, ["recommendation", "lora"]);
    let config: Vec<(&str, &str)> = run_record
        .config
        .as_ref()
        .unwrap()
        .update
        .iter()
        .map(|i| (i.key.as_str(), i.value_json.as_str()))
        .collect();
    assert_eq!(
        config,
        [
            ("_wandb", "{}"),
            ("learning_rate", "0.01"),
            ("model", r#"{"dim":64}"#)
        ]
    );

    let rows = history(&records);
    assert_eq!(rows.keys().copied().collect::<Vec<_>>(), [0, 1, 5, 6]);
    assert_eq!(rows[&0]["train_loss"], "0.5");
    assert_eq!(rows[&0]["_step"], "0");
    assert!(rows[&0].contains_key("_runtime") && rows[&0].contains_key("_timestamp"));
    assert_eq!(rows[&1]["genre.Drama"], "0.5");
    assert_eq!(rows[&5]["val_loss"], "NaN");
    assert_eq!(rows[&6]["epoch"], "7");

    let Some(RecordType::Exit(exit)) = &records.last().unwrap().record_type else {
        panic!("no exit record")
    };
    assert_eq!(exit.exit_code, 3);
    #[cfg(unix)]
    assert_eq!(
        fs::read_link(dir.0.join("wandb/latest-run")).unwrap(),
        PathBuf::from(&name)
    );
}

#[test]
fn images_are_written_under_media_and_referenced_by_the_row() {
    let dir = TempDir::new("images");
    let run = builder(&dir).with_run_id("img-run").spawn().unwrap();
    let image = Image::from_rgb8(3, 2, &[7; 18])
        .unwrap()
        .with_caption("plots");
    run.log(Values::new().add_image("performance/plots", image.clone()))
        .unwrap();
    let run_dir = run.dir().unwrap().to_owned();
    run.finish(0, WAIT).unwrap();

    let (records, _) = records_of(&run_dir, "img-run");
    let row = &history(&records)[&0];
    let path = serde_json::from_str::<String>(&row["performance/plots.path"]).unwrap();
    assert!(
        path.starts_with("media/images/performance_plots_0_"),
        "{path}"
    );
    let on_disk = fs::read(run_dir.join("files").join(&path)).unwrap();
    assert_eq!(on_disk, image.png());
    let sha = hex(&Sha256::digest(&on_disk));
    assert_eq!(row["performance/plots.sha256"], format!("\"{sha}\""));
    assert_eq!(row["performance/plots._type"], "\"image-file\"");
    assert_eq!(row["performance/plots.format"], "\"png\"");
    assert_eq!(row["performance/plots.width"], "3");
    assert_eq!(row["performance/plots.height"], "2");
    assert_eq!(row["performance/plots.size"], on_disk.len().to_string());
    assert_eq!(row["performance/plots.caption"], "\"plots\"");
    let files: Vec<&str> = records
        .iter()
        .filter_map(|r| match &r.record_type {
            Some(RecordType::Files(f)) => Some(f.files[0].path.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(files, [path.as_str()]);
}

use sha2::{Digest as _, Sha256};
use values::hex;

#[test]
fn steps_only_increase() {
    let dir = TempDir::new("steps");
    let run = builder(&dir).spawn().unwrap();
    run.log_at(3, Values::new().add_scalar("a", 1.0)).unwrap();
    let err = run
        .log_at(3, Values::new().add_scalar("a", 1.0))
        .unwrap_err();
    assert!(matches!(
        err,
        WandbError::StepNotIncreasing { step: 3, last: 3 }
    ));
    assert_eq!(run.log(Values::new().add_scalar("a", 1.0)).unwrap(), 4);
    let err = run.log(Values::new().add_scalar("_step", 1.0)).unwrap_err();
    assert!(matches!(err, WandbError::InvalidKey { .. }));
    // A rejected row does not use a step.
    assert_eq!(run.log(Values::new().add_scalar("a", 1.0)).unwrap(), 5);
    run.finish(0, WAIT).unwrap();
}

#[test]
fn records_larger_than_a_block_are_split_and_read_back() {
    let dir = TempDir::new("large");
    let big = "x".repeat(100_000);
    let run = builder(&dir)
        .with_run_id("large")
        .add_config("blob", big.clone())
        .spawn()
        .unwrap();
    for i in 0..200 {
        let row = (0..50).fold(Values::new(), |v, k| {
            v.add_scalar(format!("m{k}"), f64::from(i))
        });
        run.log(row).unwrap();
    }
    let run_dir = run.dir().unwrap().to_owned();
    run.finish(0, WAIT).unwrap();
    let (records, stop) = records_of(&run_dir, "large");
    assert_eq!(stop, Stop::End);
    let Some(RecordType::Run(r)) = &records[1].record_type else {
        panic!()
    };
    assert_eq!(
        r.config.as_ref().unwrap().update[1].value_json,
        format!("\"{big}\"")
    );
    assert_eq!(history(&records).len(), 200);
}

#[test]
fn the_environment_fills_what_the_builder_leaves_unset() {
    let dir = TempDir::new("env");
    let env = [
        ("WANDB_MODE", "offline".to_owned()),
        ("WANDB_DIR", dir.0.display().to_string()),
        ("WANDB_PROJECT", "from-env".to_owned()),
        ("WANDB_RUN_ID", "envrun01".to_owned()),
        ("WANDB_NAME", "env-name".to_owned()),
        ("WANDB_TAGS", "a, b,,c".to_owned()),
        ("WANDB_NOTES", String::new()),
    ];
    let run = RunBuilder::from_env_vars(env.clone()).spawn().unwrap();
    assert_eq!(run.id(), Some("envrun01"));
    let run_dir = run.dir().unwrap().to_owned();
    assert!(run_dir.starts_with(dir.0.join("wandb")));
    run.finish(0, WAIT).unwrap();
    let (records, _) = records_of(&run_dir, "envrun01");
    let Some(RecordType::Run(r)) = &records[1].record_type else {
        panic!()
    };
    assert_eq!(
        (r.project.as_str(), r.display_name.as_str()),
        ("from-env", "env-name")
    );
    assert_eq!(r.tags, ["a", "b", "c"]);
    assert_eq!(r.notes, "");

    // The builder wins over the environment.
    let run = RunBuilder::from_env_vars(env.clone())
        .with_project("explicit")
        .with_run_id("explicit1")
        .add_tag("t")
        .spawn()
        .unwrap();
    let run_dir = run.dir().unwrap().to_owned();
    run.finish(0, WAIT).unwrap();
    let (records, _) = records_of(&run_dir, "explicit1");
    let Some(RecordType::Run(r)) = &records[1].record_type else {
        panic!()
    };
    assert_eq!(
        (r.project.as_str(), &r.tags[..]),
        ("explicit", &["t".to_owned()][..])
    );
}

#[test]
fn online_unknown_and_disabled_modes() {
    let err = RunBuilder::from_env_vars([("WANDB_MODE", "online")])
        .spawn()
        .unwrap_err();
    assert!(matches!(err, WandbError::OnlineUnsupported));
    assert!(err.to_string().contains("wandb sync"));
    let err = RunBuilder::from_env_vars([("WANDB_MODE", "sideways")])
        .spawn()
        .unwrap_err();
    assert!(matches!(err, WandbError::UnknownMode { .. }));

    let dir = TempDir::new("disabled");
    let run = RunBuilder::from_env_vars([("WANDB_MODE", "disabled")])
        .with_dir(&dir.0)
        .spawn()
        .unwrap();
    assert_eq!(run.dir(), None);
    run.log(Values::new().add_scalar("a", 1.0)).unwrap();
    assert_eq!(run.finish(0, WAIT).unwrap().run_dir, None);
    assert!(!dir.0.join("wandb").exists());
}

#[test]
fn bad_run_ids_are_rejected() {
    for id in ["", "a/b", ".hidden", "white space", &"x".repeat(129)] {
        let err = RunBuilder::new().with_run_id(id).spawn().unwrap_err();
        assert!(matches!(err, WandbError::InvalidRunId { .. }), "{id}");
    }
}

#[test]
fn an_unwritable_directory_is_reported_by_spawn() {
    let dir = TempDir::new("unwritable");
    let file = dir.0.join("a-file");
    fs::write(&file, b"").unwrap();
    let err = RunBuilder::new().with_dir(&file).spawn().unwrap_err();
    assert!(matches!(err, WandbError::CreateDir { .. }), "{err:?}");
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn a_full_queue_drops_the_entry_without_blocking() {
    let (tx, _rx) = crossbeam_channel::bounded(1);
    let (_done_tx, done) = crossbeam_channel::bounded(1);
    let active = Active {
        tx: Some(tx),
        done,
        thread: None,
        last_step: Mutex::new(None),
        shared: Arc::new(Shared {
            dropped: AtomicU64::new(0),
            exit_code_on_drop: AtomicI32::new(0),
        }),
        started: Instant::now(),
        run_id: "q".into(),
        run_dir: PathBuf::new(),
    };
    assert_eq!(
        active
            .log(None, Values::new().add_scalar("a", 1.0))
            .unwrap(),
        0
    );
    let err = active
        .log(None, Values::new().add_scalar("a", 2.0))
        .unwrap_err();
    assert!(matches!(err, WandbError::QueueFull));
    assert_eq!(active.shared.dropped.load(Ordering::Relaxed), 1);
    // The dropped row did not take a step.
    assert_eq!(*active.last_step.lock().unwrap(), Some(0));
}

#[test]
fn a_dropped_handle_still_gets_an_exit_record() {
    let dir = TempDir::new("drop");
    let spec = writer::RunSpec {
        run_id: "dropped".into(),
        project: "p".into(),
        entity: String::new(),
        name: None,
        notes: None,
        group: None,
        job_type: None,
        tags: Vec::new(),
        config: serde_json::Map::new(),
        root: dir.0.join("wandb"),
    };
    let (w, run_dir) = Writer::create(spec, SystemTime::now()).unwrap();
    let (tx, rx) = crossbeam_channel::bounded(8);
    tx.send(Command::Summary(Values::new().add_scalar("x", 1.0)))
        .unwrap();
    drop(tx);
    let shared = Shared {
        dropped: AtomicU64::new(0),
        exit_code_on_drop: AtomicI32::new(1),
    };
    // The writer drains what was queued, then writes the exit record with the drop code.
    w.run(&rx, &shared).unwrap();
    let (records, stop) = records_of(&run_dir, "dropped");
    assert_eq!(stop, Stop::End);
    assert!(kinds(&records).contains(&"summary"));
    let Some(RecordType::Exit(exit)) = &records.last().unwrap().record_type else {
        panic!()
    };
    assert_eq!(exit.exit_code, 1);
}

#[test]
fn mode_values_follow_wandb() {
    assert_eq!(Mode::parse("offline").unwrap(), Mode::Offline);
    assert_eq!(Mode::parse("DRYRUN").unwrap(), Mode::Offline);
    assert_eq!(Mode::parse("online").unwrap(), Mode::Online);
    assert_eq!(Mode::parse("disabled").unwrap(), Mode::Disabled);
    assert!(Mode::parse("").is_err());
}

#[test]
fn a_write_error_stops_the_writer_and_finish_returns_it() {
    let dir = TempDir::new("write-error");
    let run = builder(&dir).with_run_id("broken").spawn().unwrap();
    // A file where the images directory should go: the image write fails (even as root).
    fs::write(run.dir().unwrap().join("files/media"), b"not a directory").unwrap();
    run.log(Values::new().add_scalar("before", 1.0)).unwrap();
    run.log(Values::new().add_image("plot", Image::from_rgb8(1, 1, &[0; 3]).unwrap()))
        .unwrap();
    let run_dir = run.dir().unwrap().to_owned();
    let err = run.finish(0, WAIT).unwrap_err();
    assert!(matches!(err, WandbError::CreateDir { .. }), "{err:?}");
    assert!(std::error::Error::source(&err).is_some());
    // What was written before the error is intact.
    let (records, stop) = records_of(&run_dir, "broken");
    assert_eq!(stop, Stop::End);
    assert_eq!(history(&records).len(), 1);
}
