//! Blocking calls to the MLflow REST API (run only on the worker thread).

use std::time::Duration;

use serde_json::{json, Value};

use super::types::{Metric, RunStatus, KV};
use crate::tracking::{ApiError, TrackingError};

/// Why a call failed: worth retrying, or not.
#[derive(Debug)]
pub(crate) enum CallError {
    /// Connection refused/reset, timeout, HTTP 5xx, 408 or 429: the server may take it later.
    Transient,
    /// The server answered with a definitive error.
    Permanent(ApiError),
}

#[derive(Debug, Clone)]
pub(crate) enum Auth {
    None,
    Basic(String, String),
    Bearer(String),
}

pub(crate) struct Rest {
    http: reqwest::blocking::Client,
    base: String,
    auth: Auth,
}

pub(crate) struct CreatedRun {
    pub run_id: String,
    pub experiment_id: String,
    pub artifact_uri: String,
}

impl Rest {
    pub(crate) fn new(base: &str, auth: Auth, timeout: Duration) -> Result<Self, TrackingError> {
        let http = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("recwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(TrackingError::Client)?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            auth,
        })
    }

    fn send(&self, req: reqwest::blocking::RequestBuilder) -> Result<Value, CallError> {
        let req = match &self.auth {
            Auth::None => req,
            Auth::Basic(u, p) => req.basic_auth(u, Some(p)),
            Auth::Bearer(t) => req.bearer_auth(t),
        };
        let resp = req.send().map_err(|_| CallError::Transient)?;
        let status = resp.status();
        let body = resp.text().map_err(|_| CallError::Transient)?;
        if status.is_success() {
            return Ok(serde_json::from_str(&body).unwrap_or(Value::Null));
        }
        let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let err = ApiError {
            status: status.as_u16(),
            error_code: parsed["error_code"].as_str().unwrap_or("").to_owned(),
            message: parsed["message"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| body.chars().take(500).collect()),
        };
        if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
            Err(CallError::Transient)
        } else {
            Err(CallError::Permanent(err))
        }
    }

    fn post(&self, endpoint: &str, body: &Value) -> Result<Value, CallError> {
        self.send(
            self.http
                .post(format!("{}/api/2.0/mlflow/{endpoint}", self.base))
                .json(body),
        )
    }

    fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> Result<Value, CallError> {
        self.send(
            self.http
                .get(format!("{}/api/2.0/mlflow/{endpoint}", self.base))
                .query(query),
        )
    }

    /// Get-or-create: safe when several processes race to create the same experiment (the
    /// loser's create answers `RESOURCE_ALREADY_EXISTS` and it reads the winner's).
    pub(crate) fn experiment_id(&self, name: &str) -> Result<String, CallError> {
        for _ in 0..3 {
            match self.get("experiments/get-by-name", &[("experiment_name", name)]) {
                Ok(v) => {
                    if let Some(id) = v["experiment"]["experiment_id"].as_str() {
                        return Ok(id.to_owned());
                    }
                }
                Err(CallError::Permanent(e)) if e.error_code == "RESOURCE_DOES_NOT_EXIST" => {}
                Err(e) => return Err(e),
            }
            match self.post("experiments/create", &json!({ "name": name })) {
                Ok(v) => {
                    if let Some(id) = v["experiment_id"].as_str() {
                        return Ok(id.to_owned());
                    }
                }
                Err(CallError::Permanent(e)) if e.error_code == "RESOURCE_ALREADY_EXISTS" => {}
                Err(e) => return Err(e),
            }
        }
        Err(CallError::Permanent(ApiError {
            status: 0,
            error_code: "RESOURCE_DOES_NOT_EXIST".into(),
            message: format!("experiment {name:?} neither found nor created"),
        }))
    }

    fn parse_run(v: &Value) -> Option<CreatedRun> {
        let info = &v["info"];
        Some(CreatedRun {
            run_id: info["run_id"].as_str()?.to_owned(),
            experiment_id: info["experiment_id"].as_str()?.to_owned(),
            artifact_uri: info["artifact_uri"].as_str().unwrap_or("").to_owned(),
        })
    }

    /// A run created earlier with this `recwatch.local_id` tag (a retried create whose first
    /// answer was lost must not make a second run).
    pub(crate) fn find_run(
        &self,
        experiment_id: &str,
        local_id: &str,
    ) -> Result<Option<CreatedRun>, CallError> {
        let v = self.post(
            "runs/search",
            &json!({
                "experiment_ids": [experiment_id],
                "filter": format!("tags.`{}` = '{local_id}'", super::LOCAL_ID_TAG),
                "max_results": 1,
            }),
        )?;
        Ok(v["runs"].get(0).and_then(Self::parse_run))
    }

    pub(crate) fn create_run(
        &self,
        experiment_id: &str,
        run_name: &str,
        start_time: i64,
        tags: &[KV],
    ) -> Result<CreatedRun, CallError> {
        let v = self.post(
            "runs/create",
            &json!({
                "experiment_id": experiment_id,
                "run_name": run_name,
                "start_time": start_time,
                "tags": tags,
            }),
        )?;
        Self::parse_run(&v["run"]).ok_or_else(|| {
            CallError::Permanent(ApiError {
                status: 200,
                error_code: String::new(),
                message: "runs/create answer has no run id".into(),
            })
        })
    }

    pub(crate) fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[KV],
        tags: &[KV],
    ) -> Result<(), CallError> {
        self.post(
            "runs/log-batch",
            &json!({ "run_id": run_id, "metrics": metrics, "params": params, "tags": tags }),
        )
        .map(drop)
    }

    pub(crate) fn update_run(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time: i64,
    ) -> Result<(), CallError> {
        self.post(
            "runs/update",
            &json!({ "run_id": run_id, "status": status.as_str(), "end_time": end_time }),
        )
        .map(drop)
    }

    /// Uploads through the server's mlflow-artifacts proxy (`--artifacts-destination`).
    pub(crate) fn upload_artifact(
        &self,
        artifact_uri: &str,
        path: &str,
        data: Vec<u8>,
    ) -> Result<(), CallError> {
        let Some(rest) = artifact_uri.strip_prefix("mlflow-artifacts:") else {
            return Err(CallError::Permanent(ApiError {
                status: 0,
                error_code: "UNSUPPORTED_ARTIFACT_STORE".into(),
                message: format!(
                    "run artifact URI {artifact_uri:?} is not served by the mlflow-artifacts proxy \
                     (start the server with --artifacts-destination)"
                ),
            }));
        };
        // `mlflow-artifacts:/1/run/artifacts` or `mlflow-artifacts://host:port/1/run/artifacts`.
        let rel = match rest.strip_prefix("//") {
            Some(with_host) => with_host.split_once('/').map_or("", |(_, p)| p),
            None => rest.trim_start_matches('/'),
        };
        let url = format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{}/{}",
            self.base,
            rel.trim_end_matches('/'),
            path
        );
        self.send(self.http.put(url).body(data)).map(drop)
    }

    pub(crate) fn create_registered_model(&self, name: &str) -> Result<(), CallError> {
        match self.post("registered-models/create", &json!({ "name": name })) {
            Ok(_) => Ok(()),
            Err(CallError::Permanent(e)) if e.error_code == "RESOURCE_ALREADY_EXISTS" => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The version of `name` already made from `source` of `run_id`, if any.
    pub(crate) fn find_model_version(
        &self,
        name: &str,
        run_id: &str,
        source: &str,
    ) -> Result<Option<String>, CallError> {
        let v = self.get(
            "model-versions/search",
            &[("filter", &format!("name='{name}' and run_id='{run_id}'"))],
        )?;
        Ok(v["model_versions"].as_array().and_then(|a| {
            a.iter()
                .find(|mv| mv["source"].as_str() == Some(source))
                .and_then(|mv| mv["version"].as_str().map(str::to_owned))
        }))
    }

    pub(crate) fn create_model_version(
        &self,
        name: &str,
        run_id: &str,
        source: &str,
    ) -> Result<String, CallError> {
        let v = self.post(
            "model-versions/create",
            &json!({ "name": name, "source": source, "run_id": run_id }),
        )?;
        Ok(v["model_version"]["version"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }
}
