//! Wire and journal types.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How a run ended (MLflow's `RunStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum RunStatus {
    /// Still running (not a valid end status).
    Running,
    /// Scheduled (not a valid end status).
    Scheduled,
    /// Completed.
    Finished,
    /// Failed (a panic in the training loop ends the run so).
    Failed,
    /// Stopped before completion (the run was dropped without being ended).
    Killed,
}

impl RunStatus {
    /// MLflow's name (`FINISHED`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Scheduled => "SCHEDULED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }

    /// Whether a run can end with this status (FINISHED, FAILED or KILLED).
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Finished | RunStatus::Failed | RunStatus::Killed
        )
    }
}

/// A key/value pair (param or tag) as the REST API takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KV {
    pub key: String,
    pub value: String,
}

/// One metric point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Metric {
    pub key: String,
    #[serde(serialize_with = "ser_value", deserialize_with = "de_value")]
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
}

/// JSON has no NaN or infinities; MLflow (protobuf JSON) takes them as strings.
fn ser_value<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_nan() {
        s.serialize_str("NaN")
    } else if v.is_infinite() {
        s.serialize_str(if *v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        s.serialize_f64(*v)
    }
}

fn de_value<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum V {
        N(f64),
        S(String),
    }
    match V::deserialize(d)? {
        V::N(n) => Ok(n),
        V::S(s) => match s.as_str() {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            other => Err(serde::de::Error::custom(format!(
                "not a metric value: {other}"
            ))),
        },
    }
}

/// One operation of the worker, and one line of the journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum Op {
    /// A run the server already created (written when the journal is opened, so another
    /// process replaying it knows the mapping).
    RunKnown {
        local: String,
        run_id: String,
        experiment_id: String,
        artifact_uri: String,
    },
    CreateRun {
        local: String,
        experiment: Experiment,
        run_name: String,
        start_time: i64,
        tags: Vec<KV>,
    },
    LogBatch {
        local: String,
        metrics: Vec<Metric>,
        params: Vec<KV>,
        tags: Vec<KV>,
    },
    Artifact {
        local: String,
        path: String,
        /// In memory until journaled.
        #[serde(skip)]
        data: Option<std::sync::Arc<Vec<u8>>>,
        /// Where the journal keeps the bytes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<std::path::PathBuf>,
    },
    RegisterModel {
        local: String,
        name: String,
        artifact_path: String,
    },
    EndRun {
        local: String,
        status: RunStatus,
        end_time: i64,
    },
}

impl Op {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Op::RunKnown { .. } => "run-known",
            Op::CreateRun { .. } => "create-run",
            Op::LogBatch { .. } => "log-batch",
            Op::Artifact { .. } => "artifact upload",
            Op::RegisterModel { .. } => "model registration",
            Op::EndRun { .. } => "end-run",
        }
    }
}

/// Which experiment a run goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Experiment {
    Name(String),
    Id(String),
}
