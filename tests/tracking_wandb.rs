//! W&B offline runs written by recwatch, read by the official `wandb` tools (wandb 0.31.0 from
//! PyPI): `wandb leet inspect --json`, `wandb leet inspect --summary --json` and
//! `wandb sync --dry-run`.
//!
//! Ignored by default; `scripts/integration-wandb.sh` installs wandb and runs them with
//! `WANDB_BIN` pointing at its `wandb` command. They fail loudly when it is missing.
#![cfg(feature = "wandb")]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use recwatch::tracking::wandb::{Image, RunBuilder, Values};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

fn wandb_bin() -> PathBuf {
    let bin = PathBuf::from(std::env::var_os("WANDB_BIN").unwrap_or_else(|| "wandb".into()));
    // The commands run in other directories: make a relative path absolute.
    if bin.components().count() > 1 && bin.is_relative() {
        std::env::current_dir().unwrap().join(bin)
    } else {
        bin
    }
}

/// Runs the official CLI; panics with its output when it fails or is missing.
fn wandb(args: &[&str], cwd: &Path) -> String {
    let out = Command::new(wandb_bin())
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{}` (install wandb==0.31.0: scripts/integration-wandb.sh): {e}",
                wandb_bin().display()
            )
        });
    assert!(
        out.status.success(),
        "wandb {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // `wandb sync` prints its listing on stderr.
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn inspect_records(path: &Path) -> Vec<Value> {
    wandb(
        &["leet", "inspect", "--json", path.to_str().unwrap()],
        path.parent().unwrap(),
    )
    .lines()
    .filter(|l| l.starts_with('{'))
    .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
    .collect()
}

fn inspect_summary(path: &Path) -> Value {
    let out = wandb(
        &[
            "leet",
            "inspect",
            "--summary",
            "--json",
            path.to_str().unwrap(),
        ],
        path.parent().unwrap(),
    );
    let start = out.find('{').expect("a JSON object");
    let end = out.rfind('}').expect("a JSON object");
    serde_json::from_str(&out[start..=end]).unwrap()
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("recwatch-wandb-it-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn log_file(run_dir: &Path) -> PathBuf {
    fs::read_dir(run_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "wandb"))
        .expect("a .wandb file")
}

fn plot() -> Image {
    let pixels: Vec<u8> = (0..40 * 30 * 3).map(|i| (i % 256) as u8).collect();
    Image::from_rgb8(40, 30, &pixels).unwrap()
}

/// A run with everything recwatch writes; returns its directory.
fn full_run(dir: &Path, id: &str, exit_code: i32) -> PathBuf {
    let run = RunBuilder::new()
        .with_dir(dir)
        .with_run_id(id)
        .with_project("movie-recommendation")
        .with_name("mf-baseline")
        .with_notes("matrix factorisation")
        .with_group("baselines")
        .add_tag("recommendation")
        .add_tag("llm")
        .add_tag("lora")
        .add_config("learning_rate", 0.01)
        .add_config("epochs", 3)
        .add_config(
            "dataset",
            serde_json::json!({"name": "movielens", "users": 610}),
        )
        .spawn()
        .unwrap();
    for epoch in 0..3 {
        let loss = 1.0 / f64::from(epoch + 1);
        let step = run
            .log(
                Values::new()
                    .add_scalar("train_loss", loss)
                    .add_scalar("val_loss", loss + 0.1),
            )
            .unwrap();
        assert_eq!(step, u64::try_from(epoch).unwrap());
    }
    run.log_at(
        10,
        Values::new()
            .add_map("genre_distribution", [("Drama", 0.6), ("Comedy", 0.4)])
            .add_image("performance_plots", plot()),
    )
    .unwrap();
    run.update_summary(
        Values::new()
            .add_scalar("rmse", 0.91)
            .add_scalar("mae", 0.72)
            .add_scalar("diversity", 0.55),
    )
    .unwrap();
    run.update_config("evaluated_at_k", 10).unwrap();
    let run_dir = run.dir().unwrap().to_owned();
    run.finish(exit_code, WAIT).unwrap();
    run_dir
}

#[test]
#[ignore = "needs the official wandb CLI: scripts/integration-wandb.sh"]
fn the_official_reader_sees_every_record_state_config_tags_history_and_summary() {
    let dir = TempDir::new("full");
    let run_dir = full_run(&dir.0, "recwatch1", 0);
    let log = log_file(&run_dir);

    let records = inspect_records(&log);
    let types: Vec<&str> = records
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "header",
            "run",
            "environment",
            "telemetry",
            "summary",
            "history",
            "summary",
            "history",
            "summary",
            "history",
            "files",
            "summary",
            "history",
            "telemetry",
            "summary",
            "config",
            "telemetry",
            "summary",
            "exit"
        ]
    );
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r["num"], i + 1, "record numbers are consecutive");
    }
    let run = &records[1]["run"];
    assert_eq!(run["run_id"], "recwatch1");
    assert_eq!(run["project"], "movie-recommendation");
    assert_eq!(run["display_name"], "mf-baseline");
    assert_eq!(run["run_group"], "baselines");
    assert_eq!(
        run["tags"],
        serde_json::json!(["recommendation", "llm", "lora"])
    );
    assert_eq!(run["config"]["update"]["dataset"]["users"], 610);

    let history: Vec<&Value> = records
        .iter()
        .filter(|r| r["type"] == "history")
        .map(|r| &r["history"])
        .collect();
    let steps: Vec<i64> = history
        .iter()
        .map(|h| h["step"]["num"].as_i64().unwrap_or(0))
        .collect();
    assert_eq!(steps, [0, 1, 2, 10]);
    for (epoch, h) in history[..3].iter().enumerate() {
        let loss = 1.0 / (epoch as f64 + 1.0);
        assert_eq!(h["item"]["train_loss"].as_f64(), Some(loss));
        assert_eq!(h["item"]["val_loss"].as_f64(), Some(loss + 0.1));
        assert_eq!(h["item"]["_step"], epoch);
    }
    let image = &history[3]["item"];
    assert_eq!(image["genre_distribution.Drama"], 0.6);
    assert_eq!(image["performance_plots._type"], "image-file");
    let path = image["performance_plots.path"].as_str().unwrap();
    let png = fs::read(run_dir.join("files").join(path)).expect("the image is on disk");
    assert_eq!(image["performance_plots.size"], png.len());
    assert_eq!(
        (
            image["performance_plots.width"].as_u64(),
            image["performance_plots.height"].as_u64()
        ),
        (Some(40), Some(30))
    );
    let files = &records[10]["files"]["files"][0]["path"];
    assert_eq!(files, path);
    assert_eq!(
        records.last().unwrap()["exit"]["exit_code"]
            .as_i64()
            .unwrap_or(0),
        0
    );

    let summary = inspect_summary(&log);
    assert_eq!(summary["state"], "finished");
    assert_eq!(summary["exit_code"], 0);
    assert_eq!(summary["run_id"], "recwatch1");
    assert_eq!(summary["project"], "movie-recommendation");
    assert_eq!(summary["name"], "mf-baseline");
    assert_eq!(summary["notes"], "matrix factorisation");
    assert_eq!(
        summary["tags"],
        serde_json::json!(["recommendation", "llm", "lora"])
    );
    assert_eq!(summary["step"], 10);
    let config = summary["config"].as_object().unwrap();
    assert_eq!(config["learning_rate"], 0.01);
    assert_eq!(config["epochs"], 3);
    assert_eq!(config["dataset"]["name"], "movielens");
    assert_eq!(
        config["evaluated_at_k"], 10,
        "a config update after the start"
    );
    let s = &summary["summary"];
    assert_eq!(s["rmse"], 0.91);
    assert_eq!(s["mae"], 0.72);
    assert_eq!(s["diversity"], 0.55);
    assert_eq!(s["train_loss"].as_f64(), Some(1.0 / 3.0));
    assert_eq!(s["genre_distribution"]["Comedy"], 0.4);
    assert_eq!(s["performance_plots"]["path"], path);
    assert_eq!(s["_step"], 10);
}

#[test]
#[ignore = "needs the official wandb CLI: scripts/integration-wandb.sh"]
fn exit_codes_map_to_the_official_run_states() {
    let dir = TempDir::new("states");
    for (code, state) in [(1, "failed"), (254, "crashed")] {
        let run_dir = full_run(&dir.0, &format!("exit{code}"), code);
        let summary = inspect_summary(&log_file(&run_dir));
        assert_eq!(summary["state"], state, "exit code {code}");
        assert_eq!(summary["exit_code"], code);
    }
}

#[test]
#[ignore = "needs the official wandb CLI: scripts/integration-wandb.sh"]
fn sync_dry_run_lists_the_runs() {
    let dir = TempDir::new("sync");
    let run_dir = full_run(&dir.0, "syncme01", 0);
    let listing = wandb(&["sync", "--dry-run", run_dir.to_str().unwrap()], &dir.0);
    assert!(listing.contains("Would sync 1 run"), "{listing}");
    assert!(listing.contains("run-syncme01.wandb"), "{listing}");
    // Without a path it finds the unsynced runs under ./wandb.
    let listing = wandb(&["sync", "--dry-run"], &dir.0);
    assert!(listing.contains("run-syncme01.wandb"), "{listing}");
}

#[test]
#[ignore = "needs the official wandb CLI: scripts/integration-wandb.sh"]
fn a_torn_log_reads_up_to_its_last_complete_record() {
    let dir = TempDir::new("torn");
    let run = RunBuilder::new()
        .with_dir(&dir.0)
        .with_run_id("torn0001")
        // A config record larger than a 32 KiB block: chunks of several types.
        .add_config("blob", "b".repeat(70_000))
        .spawn()
        .unwrap();
    for i in 0..40 {
        run.log(
            Values::new()
                .add_scalar("loss", f64::from(i))
                .add_text("note", "x".repeat(500)),
        )
        .unwrap();
    }
    let run_dir = run.dir().unwrap().to_owned();
    run.finish(0, WAIT).unwrap();
    let log = log_file(&run_dir);
    let full = inspect_records(&log);
    let data = fs::read(&log).unwrap();
    assert!(data.len() > 3 * 32 * 1024);

    let torn = dir.0.join("torn.wandb");
    let mut previous = 0;
    // Cut points in every block, inside chunk headers and payloads (each read starts the CLI,
    // about a second, so a dozen of them).
    for cut in (9..data.len())
        .step_by(data.len() / 11)
        .chain([data.len() - 1])
    {
        fs::write(&torn, &data[..cut]).unwrap();
        let records = inspect_records(&torn);
        assert!(records.len() < full.len(), "cut at {cut}");
        assert!(
            records.len() >= previous,
            "cut at {cut}: fewer records than an earlier cut"
        );
        assert_eq!(
            records[..],
            full[..records.len()],
            "cut at {cut}: not a prefix"
        );
        previous = records.len();
    }
    assert!(previous > 40, "the last cut keeps almost every record");
    // Without an exit record the run reads as still running.
    assert_eq!(inspect_summary(&torn)["state"], "running");
}

#[test]
#[ignore = "needs the official wandb CLI: scripts/integration-wandb.sh"]
fn non_finite_values_and_text_are_read() {
    let dir = TempDir::new("values");
    let run = RunBuilder::new()
        .with_dir(&dir.0)
        .with_run_id("values01")
        .spawn()
        .unwrap();
    run.log(
        Values::new()
            .add_scalar("nan", f64::NAN)
            .add_scalar("inf", f64::INFINITY)
            .add_text("label", "naïve \"quoted\"")
            .add_json(
                "nested",
                serde_json::json!({"a": {"b": [1, 2]}, "flag": true}),
            ),
    )
    .unwrap();
    let run_dir = run.dir().unwrap().to_owned();
    run.finish(0, WAIT).unwrap();
    let records = inspect_records(&log_file(&run_dir));
    let row = &records.iter().find(|r| r["type"] == "history").unwrap()["history"]["item"];
    assert_eq!(row["label"], "naïve \"quoted\"");
    assert_eq!(row["nested.a.b"], serde_json::json!([1, 2]));
    assert_eq!(row["nested.flag"], true);
    // JSON has no literal for non-finite values; the reader shows them as it shows those of
    // a run written by the Python client (`run.log({"nan": float("nan")})`).
    assert_eq!(row["nan"], "NaN");
    assert_eq!(row["inf"], "Infinity");
    assert_eq!(inspect_summary(&log_file(&run_dir))["state"], "finished");
}

/// Without the CLI: the layout the official tools look for, through the public API only.
#[test]
fn a_run_directory_has_the_official_layout() {
    let dir = TempDir::new("layout");
    let run = RunBuilder::from_env_vars([("WANDB_DIR", dir.0.display().to_string())])
        .with_run_id("layout01")
        .spawn()
        .unwrap();
    run.log(Values::new().add_image("plot", plot())).unwrap();
    let run_dir = run.dir().unwrap().to_owned();
    let report = run.finish(0, WAIT).unwrap();
    assert_eq!(report.run_dir.as_deref(), Some(run_dir.as_path()));

    assert_eq!(run_dir.parent().unwrap(), dir.0.join("wandb"));
    let name = run_dir.file_name().unwrap().to_str().unwrap();
    // offline-run-YYYYMMDD_HHMMSS-<id>
    let stamp = &name["offline-run-".len()..name.len() - "-layout01".len()];
    assert!(
        name.starts_with("offline-run-") && name.ends_with("-layout01"),
        "{name}"
    );
    assert_eq!(stamp.len(), 15, "{stamp}");
    assert_eq!(&stamp[8..9], "_");
    assert!(stamp
        .chars()
        .filter(|c| *c != '_')
        .all(|c| c.is_ascii_digit()));

    let log = fs::read(run_dir.join("run-layout01.wandb")).unwrap();
    assert_eq!(
        &log[..7],
        b":W&B\xe1\xbe\x00",
        "W&B file header, store version 0"
    );
    let images: Vec<PathBuf> = fs::read_dir(run_dir.join("files/media/images"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(images.len(), 1);
    assert_eq!(fs::read(&images[0]).unwrap(), plot().png());
}

#[test]
fn a_run_handle_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<recwatch::tracking::wandb::WandbRun>();
}
