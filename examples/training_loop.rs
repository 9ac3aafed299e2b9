//! Trains a small matrix-factorisation recommender on synthetic ratings and tracks the run in
//! MLflow, without ever blocking the training loop.
//!
//! ```text
//! MLFLOW_TRACKING_URI=http://127.0.0.1:5000 \
//!     cargo run --example training_loop --features quality,tracking -- --epochs 3
//! ```
//!
//! Logs to experiment `movie-recommendation` (or `MLFLOW_EXPERIMENT_NAME`), run
//! `training_<YYYYmmdd_HHMMSS>`: hyperparameters and `dataset_*` info as params, `train_loss` and
//! `val_loss` per epoch, the final `rmse`, `mae`, prediction variance and value coverage, ranking
//! metrics at 10 and beyond-accuracy metrics, the four performance plots (PNG and SVG) under
//! `plots/`, the model under `model/`, registered as `lora_recommendation_model`. Without
//! `MLFLOW_TRACKING_URI` everything goes to the offline journal, whose path is printed (send
//! it later with `recwatch::tracking::mlflow::replay_journal`).
//!
//! Options: `--epochs N` (default 10), `--factors N` (16), `--lr X` (0.05), `--reg X` (0.05),
//! `--seed N` (42), `--panic-at-epoch N` (panics there, to show the run ending FAILED).
//!
//! Evaluation inference is timed by `#[track_inference]`
//! (`model_inference_duration_seconds{model="mf_eval"}`); a progress bar shows the epochs when
//! stderr is a terminal.

use std::collections::{HashMap, HashSet};
use std::error::Error;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use recwatch::quality::{
    self, GiniPopulation, QualityMetric, QualityReport, RankingMetrics, RatingMetrics,
};
use recwatch::track_inference;
use recwatch::tracking::mlflow::{FlushStatus, MlflowConfig, MlflowTracker, Run, RunConfig};
use recwatch::tracking::plots::{performance_plots, PlotFormat};

const GENRES: &[&str] = &[
    "action", "comedy", "drama", "horror", "romance", "sci-fi", "thriller",
];
const MODEL_NAME: &str = "lora_recommendation_model";
const K: usize = 10;

/// SplitMix64: deterministic pseudo-random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        // Box–Muller.
        let (u, v) = (self.unit().max(1e-12), self.unit());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

struct Args {
    epochs: usize,
    factors: usize,
    lr: f64,
    reg: f64,
    seed: u64,
    panic_at: Option<usize>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        epochs: 10,
        factors: 16,
        lr: 0.05,
        reg: 0.05,
        seed: 42,
        panic_at: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let bad = |e: &dyn std::fmt::Display| format!("{flag}: {e}");
        match flag.as_str() {
            "--epochs" => a.epochs = value()?.parse().map_err(|e| bad(&e))?,
            "--factors" => a.factors = value()?.parse().map_err(|e| bad(&e))?,
            "--lr" => a.lr = value()?.parse().map_err(|e| bad(&e))?,
            "--reg" => a.reg = value()?.parse().map_err(|e| bad(&e))?,
            "--seed" => a.seed = value()?.parse().map_err(|e| bad(&e))?,
            "--panic-at-epoch" => a.panic_at = Some(value()?.parse().map_err(|e| bad(&e))?),
            "-h" | "--help" => {
                println!("usage: training_loop [--epochs N] [--factors N] [--lr X] [--reg X] [--seed N] [--panic-at-epoch N]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.epochs == 0 || a.factors == 0 {
        return Err("--epochs and --factors must be at least 1".into());
    }
    Ok(a)
}

/// Synthetic MovieLens-like data: skewed item popularity, ratings from hidden taste factors.
struct Dataset {
    users: usize,
    movies: usize,
    genres: Vec<Vec<&'static str>>,
    train: Vec<(usize, usize, f64)>,
    val: Vec<(usize, usize, f64)>,
}

fn synthetic(seed: u64) -> Dataset {
    let (users, movies, dim) = (400usize, 600usize, 4usize);
    let mut rng = Rng(seed);
    let taste: Vec<Vec<f64>> = (0..users)
        .map(|_| (0..dim).map(|_| rng.normal() * 0.6).collect())
        .collect();
    let traits: Vec<Vec<f64>> = (0..movies)
        .map(|_| (0..dim).map(|_| rng.normal() * 0.6).collect())
        .collect();
    let quality: Vec<f64> = (0..movies).map(|_| rng.normal() * 0.4).collect();
    let genres = (0..movies)
        .map(|_| {
            let mut g: Vec<&str> = (0..1 + rng.next() % 2)
                .map(|_| GENRES[(rng.next() % GENRES.len() as u64) as usize])
                .collect();
            g.dedup();
            g
        })
        .collect();
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for (u, user_taste) in taste.iter().enumerate() {
        let mut seen = HashSet::new();
        for _ in 0..40 {
            // Zipf-like popularity: low ids are popular.
            let m = ((rng.unit().powf(2.2)) * movies as f64) as usize % movies;
            if !seen.insert(m) {
                continue;
            }
            let dot: f64 = user_taste.iter().zip(&traits[m]).map(|(a, b)| a * b).sum();
            let r = (3.4 + quality[m] + dot * 1.5 + rng.normal() * 0.5).clamp(0.5, 5.0);
            let r = (r * 2.0).round() / 2.0;
            if rng.unit() < 0.8 {
                train.push((u, m, r))
            } else {
                val.push((u, m, r))
            }
        }
    }
    Dataset {
        users,
        movies,
        genres,
        train,
        val,
    }
}

/// Biased matrix factorisation trained with SGD.
#[derive(serde::Serialize)]
struct Model {
    mean: f64,
    user_bias: Vec<f64>,
    item_bias: Vec<f64>,
    user_factors: Vec<Vec<f64>>,
    item_factors: Vec<Vec<f64>>,
}

impl Model {
    fn new(users: usize, movies: usize, factors: usize, mean: f64, rng: &mut Rng) -> Self {
        let mut init = |n: usize| {
            (0..n)
                .map(|_| (0..factors).map(|_| rng.normal() * 0.05).collect())
                .collect()
        };
        Self {
            mean,
            user_bias: vec![0.0; users],
            item_bias: vec![0.0; movies],
            user_factors: init(users),
            item_factors: init(movies),
        }
    }

    fn predict(&self, u: usize, m: usize) -> f64 {
        let dot: f64 = self.user_factors[u]
            .iter()
            .zip(&self.item_factors[m])
            .map(|(a, b)| a * b)
            .sum();
        self.mean + self.user_bias[u] + self.item_bias[m] + dot
    }

    fn epoch(&mut self, data: &[(usize, usize, f64)], order: &[usize], lr: f64, reg: f64) -> f64 {
        let mut sq = 0.0;
        for &i in order {
            let (u, m, r) = data[i];
            let err = r - self.predict(u, m);
            sq += err * err;
            self.user_bias[u] += lr * (err - reg * self.user_bias[u]);
            self.item_bias[m] += lr * (err - reg * self.item_bias[m]);
            for f in 0..self.user_factors[u].len() {
                let (pu, qi) = (self.user_factors[u][f], self.item_factors[m][f]);
                self.user_factors[u][f] += lr * (err * qi - reg * pu);
                self.item_factors[m][f] += lr * (err * pu - reg * qi);
            }
        }
        sq / data.len() as f64
    }

    /// Evaluation inference: timed as `model_inference_duration_seconds{model="mf_eval"}`.
    #[track_inference(model = "mf_eval", version = "v1")]
    fn predict_batch(&self, pairs: &[(usize, usize, f64)]) -> Vec<f64> {
        pairs
            .iter()
            .map(|&(u, m, _)| self.predict(u, m).clamp(0.5, 5.0))
            .collect()
    }

    /// Top-k unseen movies for a user (timed too).
    #[track_inference(model = "mf_eval_topk", version = "v1")]
    fn top_k(&self, u: usize, seen: &HashSet<usize>, k: usize) -> Vec<usize> {
        let mut scored: Vec<(f64, usize)> = (0..self.item_bias.len())
            .filter(|m| !seen.contains(m))
            .map(|m| (self.predict(u, m), m))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.into_iter().take(k).map(|(_, m)| m).collect()
    }
}

/// Where the run is logged. MLflow today; another tracker (W&B) is one more implementation and
/// one more entry in [`Trackers`].
trait Tracker {
    fn log_params(&mut self, params: &[(String, String)]) -> Result<(), Box<dyn Error>>;
    fn log_metrics(&mut self, metrics: &[(String, f64)], step: i64) -> Result<(), Box<dyn Error>>;
    fn log_artifact(&mut self, path: &str, data: &[u8]) -> Result<(), Box<dyn Error>>;
    fn register_model(&mut self, name: &str, artifact_path: &str) -> Result<(), Box<dyn Error>>;
    /// Ends the run successfully, waits for delivery and says where the data went.
    fn finish(self: Box<Self>) -> Result<String, Box<dyn Error>>;
}

#[derive(Default)]
struct Trackers(Vec<Box<dyn Tracker>>);

impl Trackers {
    fn add(&mut self, t: impl Tracker + 'static) {
        self.0.push(Box::new(t));
    }
    fn log_params(&mut self, params: &[(String, String)]) -> Result<(), Box<dyn Error>> {
        self.0.iter_mut().try_for_each(|t| t.log_params(params))
    }
    fn log_metrics(&mut self, metrics: &[(String, f64)], step: i64) -> Result<(), Box<dyn Error>> {
        self.0
            .iter_mut()
            .try_for_each(|t| t.log_metrics(metrics, step))
    }
    fn log_artifact(&mut self, path: &str, data: &[u8]) -> Result<(), Box<dyn Error>> {
        self.0
            .iter_mut()
            .try_for_each(|t| t.log_artifact(path, data))
    }
    fn register_model(&mut self, name: &str, path: &str) -> Result<(), Box<dyn Error>> {
        self.0
            .iter_mut()
            .try_for_each(|t| t.register_model(name, path))
    }
    fn finish(self) -> Result<Vec<String>, Box<dyn Error>> {
        self.0.into_iter().map(|t| t.finish()).collect()
    }
}

/// MLflow through recwatch: every call enqueues; `finish` drains.
struct Mlflow {
    // Field order matters: the run ends (FAILED when panicking) before the tracker flushes.
    run: Option<Run>,
    tracker: Option<MlflowTracker>,
}

impl Mlflow {
    fn start() -> Result<Self, Box<dyn Error>> {
        let mut config = MlflowConfig::from_env()?;
        if std::env::var_os("MLFLOW_EXPERIMENT_NAME").is_none()
            && std::env::var_os("MLFLOW_EXPERIMENT_ID").is_none()
        {
            config = config.with_experiment_name("movie-recommendation");
        }
        let tracker = config.spawn()?;
        let run = tracker.start_run(
            RunConfig::new().add_tag("mlflow.source.name", "examples/training_loop.rs"),
        )?;
        if tracker.is_offline() {
            eprintln!(
                "MLFLOW_TRACKING_URI is not set: logging to the offline journal {}",
                tracker.journal_path().display()
            );
        }
        eprintln!("run {}", run.name());
        Ok(Self {
            run: Some(run),
            tracker: Some(tracker),
        })
    }
    fn run(&self) -> &Run {
        self.run.as_ref().expect("present until finish")
    }
}

impl Tracker for Mlflow {
    fn log_params(&mut self, params: &[(String, String)]) -> Result<(), Box<dyn Error>> {
        Ok(self.run().log_params(params.iter().map(|(k, v)| (k, v)))?)
    }
    fn log_metrics(&mut self, metrics: &[(String, f64)], step: i64) -> Result<(), Box<dyn Error>> {
        Ok(self
            .run()
            .log_metrics(metrics.iter().map(|(k, v)| (k, *v)), step)?)
    }
    fn log_artifact(&mut self, path: &str, data: &[u8]) -> Result<(), Box<dyn Error>> {
        Ok(self.run().log_artifact(path, data.to_vec())?)
    }
    fn register_model(&mut self, name: &str, artifact_path: &str) -> Result<(), Box<dyn Error>> {
        Ok(self.run().register_model(name, artifact_path)?)
    }
    fn finish(mut self: Box<Self>) -> Result<String, Box<dyn Error>> {
        let run = self.run.take().expect("finished once");
        let name = run.name().to_owned();
        run.finish()?;
        let tracker = self.tracker.take().expect("finished once");
        Ok(match tracker.shutdown(Duration::from_secs(120))? {
            FlushStatus::Journaled { path, pending } => {
                format!(
                    "mlflow: run {name} journaled ({pending} operations) in {}",
                    path.display()
                )
            }
            _ => format!("mlflow: run {name} delivered"),
        })
    }
}

impl Drop for Mlflow {
    fn drop(&mut self) {
        // Reached with a run still open only on a panic or an early error: the run ends FAILED
        // (or KILLED) and we give the worker a moment to tell the server.
        if let Some(run) = self.run.take() {
            drop(run);
            if let Some(tracker) = self.tracker.take() {
                let _ = tracker.shutdown(Duration::from_secs(10));
            }
        }
    }
}

fn params(args: &Args, d: &Dataset) -> Vec<(String, String)> {
    let users: HashSet<usize> = d.train.iter().map(|r| r.0).collect();
    let movies: HashSet<usize> = d.train.iter().map(|r| r.1).collect();
    [
        ("epochs", args.epochs.to_string()),
        ("factors", args.factors.to_string()),
        ("learning_rate", args.lr.to_string()),
        ("regularization", args.reg.to_string()),
        ("seed", args.seed.to_string()),
        ("model_type", "biased_matrix_factorisation".into()),
        ("dataset_train_size", d.train.len().to_string()),
        ("dataset_val_size", d.val.len().to_string()),
        ("dataset_users", users.len().to_string()),
        ("dataset_movies", movies.len().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The final evaluation: the quality report and the validation predictions for the plots.
struct Evaluation {
    report: QualityReport,
    actual: Vec<f64>,
    predicted: Vec<f64>,
}

fn evaluate(model: &Model, d: &Dataset) -> Result<Evaluation, Box<dyn Error>> {
    let actual: Vec<f64> = d.val.iter().map(|r| r.2).collect();
    let predicted = model.predict_batch(&d.val);
    let rating = RatingMetrics::compute(&actual, &predicted)?;

    let mut seen: HashMap<usize, HashSet<usize>> = HashMap::new();
    for &(u, m, _) in &d.train {
        seen.entry(u).or_default().insert(m);
    }
    let mut liked: HashMap<usize, Vec<usize>> = HashMap::new();
    for &(u, m, r) in &d.val {
        if r >= 4.0 {
            liked.entry(u).or_default().push(m);
        }
    }
    let empty = HashSet::new();
    let users: Vec<usize> = (0..d.users).collect();
    let lists: Vec<Vec<usize>> = users
        .iter()
        .map(|u| model.top_k(*u, seen.get(u).unwrap_or(&empty), K))
        .collect();
    let no_likes = Vec::new();
    let ranking = RankingMetrics::compute(
        users
            .iter()
            .map(|u| (&lists[*u][..], &liked.get(u).unwrap_or(&no_likes)[..])),
        K,
    )?;
    let mut popularity = vec![0u64; d.movies];
    for &(_, m, _) in &d.train {
        popularity[m] += 1;
    }
    let genres = |m: &usize| d.genres[*m].clone();
    let report = QualityReport::new()
        .with_rating(&rating)
        .with_ranking(&ranking)
        .with_value(
            QualityMetric::CatalogueCoverage,
            quality::catalogue_coverage(&lists, d.movies)?,
        )
        .with_value(QualityMetric::Diversity, quality::diversity(&lists)?)
        .with_value(
            QualityMetric::IntraListDiversity,
            quality::intra_list_diversity(&lists, genres)?,
        )
        // Items nobody rated in training count as rated once (add-one smoothing).
        .with_value(
            QualityMetric::Novelty,
            quality::novelty(&lists, |m| popularity[*m].max(1), d.users as u64)?,
        )
        .with_value(
            QualityMetric::Personalization,
            quality::personalization(&lists)?,
        )
        .with_value(
            QualityMetric::GiniExposure,
            quality::gini_exposure(&lists, GiniPopulation::Catalogue(d.movies))?,
        )
        .with_genre_distribution(quality::genre_distribution(&lists, genres)?);
    Ok(Evaluation {
        report,
        actual,
        predicted,
    })
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("training_loop: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = train(&args) {
        eprintln!("training_loop: {e}");
        let mut source = e.source();
        while let Some(s) = source {
            eprintln!("  caused by: {s}");
            source = s.source();
        }
        std::process::exit(1);
    }
}

fn train(args: &Args) -> Result<(), Box<dyn Error>> {
    let data = synthetic(args.seed);
    let mut trackers = Trackers::default();
    trackers.add(Mlflow::start()?);
    trackers.log_params(&params(args, &data))?;

    let mut rng = Rng(args.seed ^ 0xDEAD_BEEF);
    let mean = data.train.iter().map(|r| r.2).sum::<f64>() / data.train.len() as f64;
    let mut model = Model::new(data.users, data.movies, args.factors, mean, &mut rng);
    let mut order: Vec<usize> = (0..data.train.len()).collect();

    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(args.epochs as u64);
        bar.set_style(ProgressStyle::with_template(
            "{bar:30} epoch {pos}/{len} {msg}",
        )?);
        bar
    } else {
        ProgressBar::hidden()
    };
    for epoch in 0..args.epochs {
        if args.panic_at == Some(epoch) {
            panic!("--panic-at-epoch {epoch}: the run ends FAILED");
        }
        // Fisher–Yates shuffle per epoch.
        for i in (1..order.len()).rev() {
            order.swap(i, (rng.next() % (i as u64 + 1)) as usize);
        }
        let train_loss = model.epoch(&data.train, &order, args.lr, args.reg);
        let val_pred = model.predict_batch(&data.val);
        let val_loss = data
            .val
            .iter()
            .zip(&val_pred)
            .map(|(r, p)| (r.2 - p).powi(2))
            .sum::<f64>()
            / data.val.len() as f64;
        trackers.log_metrics(
            &[
                ("train_loss".into(), train_loss),
                ("val_loss".into(), val_loss),
            ],
            epoch as i64,
        )?;
        bar.set_message(format!("train_loss {train_loss:.4} val_loss {val_loss:.4}"));
        bar.inc(1);
        if bar.is_hidden() {
            eprintln!(
                "epoch {}/{}: train_loss {train_loss:.4} val_loss {val_loss:.4}",
                epoch + 1,
                args.epochs
            );
        }
    }
    bar.finish();

    let Evaluation {
        report,
        actual,
        predicted,
    } = evaluate(&model, &data)?;
    let step = args.epochs as i64;
    trackers.log_metrics(&report.tracking_metrics(), step)?;
    for format in [PlotFormat::Png, PlotFormat::Svg] {
        for plot in performance_plots(&actual, &predicted, format)? {
            trackers.log_artifact(&format!("plots/{}", plot.file_name), &plot.data)?;
        }
    }
    trackers.log_artifact("model/model.json", &serde_json::to_vec(&model)?)?;
    trackers.log_artifact("model/MLmodel", format!("artifact_path: model\nflavors: {{}}\nmodel_type: biased_matrix_factorisation\nfactors: {}\n", args.factors).as_bytes())?;
    trackers.register_model(MODEL_NAME, "model")?;

    let get = |m| report.get(m).unwrap_or(f64::NAN);
    eprintln!(
        "rmse {:.4} mae {:.4} ndcg@{K} {:.4} hit_rate@{K} {:.4} coverage {:.3} diversity {:.3}",
        get(QualityMetric::Rmse),
        get(QualityMetric::Mae),
        get(QualityMetric::NdcgAtK),
        get(QualityMetric::HitRateAtK),
        get(QualityMetric::CatalogueCoverage),
        get(QualityMetric::Diversity),
    );
    for line in trackers.finish()? {
        eprintln!("{line}");
    }
    Ok(())
}
