//! W&B for the `training_loop` example: one more `Tracker`, writing a W&B offline run through
//! `recwatch::tracking::wandb` when `WANDB_MODE=offline` (or `dryrun`) is set or `--wandb` is
//! passed. Included by `examples/training_loop.rs` with
//! `#[cfg(feature = "wandb")] #[path = "support/wandb_tracker.rs"] mod wandb_tracker;`.
//!
//! What goes where, as the original design's `WandBTracker`:
//! - params → config (numbers stay numbers), tags `recommendation`, `llm`, `lora`;
//! - `log_metrics(…, step)` → one history row per step (`train_loss`, `val_loss` per epoch; the
//!   final metrics in one row after the last epoch); keys `prefix/name` (such as
//!   `genre_share/drama`) become one nested map `prefix` (W&B's logged dict); a second call for
//!   the same step goes to the summary;
//! - the final metrics also into the summary (`rmse`, `mae`, diversity, genre distribution);
//! - PNG artifacts (the four performance plots) → images in one row, under `performance_plots/`;
//!   other artifacts are MLflow's business and are skipped;
//! - `finish` → exit code 0; a panic in the loop drops the run, which records exit code 1.

use std::error::Error;
use std::time::Duration;

use recwatch::tracking::wandb::{Image, Mode, RunBuilder, Values, WandbRun};

use super::Tracker;

/// Whether W&B logging was asked for: `--wandb`, or `WANDB_MODE` set to an offline mode.
pub fn requested() -> bool {
    std::env::args().any(|a| a == "--wandb")
        || std::env::var("WANDB_MODE")
            .ok()
            .and_then(|m| Mode::parse(&m).ok())
            .is_some_and(|m| m != Mode::Disabled)
}

pub struct Wandb {
    run: Option<WandbRun>,
    last_step: Option<u64>,
    images: Values,
    image_count: usize,
}

impl Wandb {
    /// Starts the run; `WANDB_*` variables apply (`--wandb` alone means offline mode).
    pub fn start() -> Result<Self, Box<dyn Error>> {
        let mut builder = RunBuilder::from_env()
            .add_tag("recommendation")
            .add_tag("llm")
            .add_tag("lora")
            .with_job_type("train");
        if std::env::var_os("WANDB_PROJECT").is_none() {
            builder = builder.with_project("movie-recommendation");
        }
        if std::env::var_os("WANDB_MODE").is_none() {
            builder = builder.with_mode(Mode::Offline);
        }
        let run = builder.spawn()?;
        if let Some(dir) = run.dir() {
            eprintln!(
                "wandb: offline run in {} (upload with `wandb sync`)",
                dir.display()
            );
        }
        Ok(Self {
            run: Some(run),
            last_step: None,
            images: Values::new(),
            image_count: 0,
        })
    }

    fn run(&self) -> &WandbRun {
        self.run.as_ref().expect("present until finish")
    }
}

/// Metrics as W&B values: `prefix/name` keys grouped into one map per prefix.
fn values(metrics: &[(String, f64)]) -> Values {
    let mut values = Values::new();
    let mut maps: Vec<(String, Vec<(String, f64)>)> = Vec::new();
    for (key, value) in metrics {
        match key.split_once('/') {
            Some((prefix, name)) if !prefix.is_empty() && !name.is_empty() => {
                match maps.iter_mut().find(|(p, _)| p == prefix) {
                    Some((_, map)) => map.push((name.to_owned(), *value)),
                    None => maps.push((prefix.to_owned(), vec![(name.to_owned(), *value)])),
                }
            }
            _ => values = values.add_scalar(key.clone(), *value),
        }
    }
    for (prefix, map) in maps {
        values = values.add_map(prefix, map);
    }
    values
}

impl Tracker for Wandb {
    fn log_params(&mut self, params: &[(String, String)]) -> Result<(), Box<dyn Error>> {
        for (key, value) in params {
            // "0.05" → 0.05, "10" → 10; anything else stays text.
            let json = serde_json::from_str::<serde_json::Value>(value)
                .ok()
                .filter(serde_json::Value::is_number)
                .unwrap_or_else(|| serde_json::Value::String(value.clone()));
            self.run().update_config(key.clone(), json)?;
        }
        Ok(())
    }

    fn log_metrics(&mut self, metrics: &[(String, f64)], step: i64) -> Result<(), Box<dyn Error>> {
        let step = u64::try_from(step)?;
        let values = values(metrics);
        match self.last_step {
            Some(last) if step <= last => self.run().update_summary(values)?,
            _ => {
                self.run().log_at(step, values)?;
                self.last_step = Some(step);
            }
        }
        Ok(())
    }

    fn log_artifact(&mut self, path: &str, data: &[u8]) -> Result<(), Box<dyn Error>> {
        if let Some(name) = path.strip_suffix(".png") {
            let name = name.rsplit('/').next().unwrap_or(name);
            let image = Image::from_png(data.to_vec())?.with_caption(name);
            let images = std::mem::take(&mut self.images);
            self.images = images.add_image(format!("performance_plots/{name}"), image);
            self.image_count += 1;
        }
        Ok(())
    }

    fn register_model(&mut self, _name: &str, _artifact_path: &str) -> Result<(), Box<dyn Error>> {
        // Model registry is MLflow's; W&B artifacts are not written by recwatch.
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<String, Box<dyn Error>> {
        let run = self.run.take().expect("finished once");
        if !self.images.is_empty() {
            // The plots in one row after the last step, as `wandb.log({"plots": …})`.
            run.log(std::mem::take(&mut self.images))?;
        }
        let report = run.finish(0, Duration::from_secs(60))?;
        Ok(format!(
            "wandb: {} records, {} images, {} dropped, in {}",
            report.records,
            self.image_count,
            report.dropped,
            report
                .run_dir
                .map(|d| d.display().to_string())
                .unwrap_or_default()
        ))
    }
}
