//! Writes a W&B offline run from Rust that the official `wandb` tools read and upload.
//!
//! ```text
//! WANDB_DIR=/tmp/wb WANDB_PROJECT=movie-recommendation \
//!     cargo run --example wandb_offline --features wandb -- --steps 5
//! wandb leet inspect --summary --json /tmp/wb/wandb/latest-run
//! wandb sync /tmp/wb/wandb/latest-run      # uploads it when a W&B server is reachable
//! ```
//!
//! Options: `--steps N` (default 5), `--exit-code N` (default 0), `--abort-after N` (exit the
//! process without finishing after N rows, to see what a crash leaves), `--panic-after N` (panic
//! after N rows: the dropped run records exit code 1), `--print-dir` (print the run directory on
//! stdout), `--queue N` (queue capacity, default 1024). It prints the time spent in the `log`
//! calls and in `finish` on stderr (`scripts/bench_wandb.py` compares them with the Python client). W&B's environment variables apply (`WANDB_MODE`, `WANDB_DIR`,
//! `WANDB_PROJECT`, `WANDB_RUN_ID`, `WANDB_NAME`, `WANDB_TAGS`, …).

use std::time::Duration;

use recwatch::tracking::wandb::{Image, RunBuilder, Values};

fn arg(args: &[String], name: &str) -> Option<i64> {
    let at = args.iter().position(|a| a == name)?;
    args.get(at + 1)?.parse().ok()
}

/// A small gradient image standing in for a performance plot.
fn gradient(width: u32, height: u32, shift: u32) -> Result<Image, recwatch::WandbError> {
    let mut pixels = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            pixels.extend_from_slice(&[
                (x * 255 / width) as u8,
                (y * 255 / height) as u8,
                ((shift * 40) % 256) as u8,
            ]);
        }
    }
    Image::from_rgb8(width, height, &pixels)
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // Display, not Debug: the online-mode error explains how to use offline mode.
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let steps = arg(&args, "--steps").unwrap_or(5);
    let exit_code = i32::try_from(arg(&args, "--exit-code").unwrap_or(0))?;
    let abort_after = arg(&args, "--abort-after");
    let panic_after = arg(&args, "--panic-after");
    let queue = arg(&args, "--queue").unwrap_or(1024);

    let mut builder = RunBuilder::from_env();
    // As for `wandb.init(project=…)`, a project set in code would win over WANDB_PROJECT.
    if std::env::var_os("WANDB_PROJECT").is_none() {
        builder = builder.with_project("recwatch-example");
    }
    let run = builder
        .with_queue_capacity(usize::try_from(queue)?)
        .add_tag("recommendation")
        .add_config("learning_rate", 0.01)
        .add_config("embedding_dim", 64)
        .add_config(
            "dataset",
            serde_json::json!({"name": "movielens-small", "ratings": 100_836}),
        )
        .spawn()?;
    if args.iter().any(|a| a == "--print-dir") {
        if let Some(dir) = run.dir() {
            println!("{}", dir.display());
        }
    }

    let logging = std::time::Instant::now();
    for epoch in 0..steps {
        let train = 1.0 / (epoch as f64 + 1.0);
        let row = Values::new()
            .add_scalar("train_loss", train)
            .add_scalar("val_loss", train * 1.1 + 0.05)
            .add_integer("epoch", epoch);
        if let Err(err) = run.log(row) {
            eprintln!("row {epoch} not logged: {err}");
        }
        if abort_after == Some(epoch + 1) {
            // Simulates a crash: no finish, no destructor.
            std::process::exit(9);
        }
        if panic_after == Some(epoch + 1) {
            // Unwinding drops the run, which records exit code 1 (W&B's `failed`).
            panic!("training diverged at epoch {epoch}");
        }
    }
    let log_seconds = logging.elapsed().as_secs_f64();
    run.log(
        Values::new()
            .add_map(
                "genre_distribution",
                [
                    ("Drama", 0.35),
                    ("Comedy", 0.3),
                    ("Action", 0.2),
                    ("Horror", 0.15),
                ],
            )
            .add_image(
                "performance_plots",
                gradient(64, 48, 1)?.with_caption("gradient"),
            ),
    )?;
    run.update_summary(
        Values::new()
            .add_scalar("rmse", 0.912)
            .add_scalar("mae", 0.718)
            .add_scalar("diversity", 0.64),
    )?;
    let finishing = std::time::Instant::now();
    let report = run.finish(exit_code, Duration::from_secs(60))?;
    eprintln!(
        "timing: rows={steps} log_seconds={log_seconds:.6} finish_seconds={:.6}",
        finishing.elapsed().as_secs_f64()
    );
    eprintln!(
        "wrote {} records to {} ({} dropped)",
        report.records,
        report
            .run_dir
            .map(|d| d.display().to_string())
            .unwrap_or_default(),
        report.dropped
    );
    Ok(())
}
