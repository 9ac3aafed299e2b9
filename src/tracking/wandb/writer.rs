//! The run directory and the background writer that turns commands into `.wandb` records.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use crossbeam_channel::Receiver;
use prost::Message as _;
use sha2::{Digest as _, Sha256};

use super::log::Framer;
use super::proto::{self, RecordType};
use super::values::{flatten_json, float_json, hex, text_json, Entry, Image, Values};
use super::{Shared, WandbError};

/// What the handle sends to the writer thread.
#[derive(Debug)]
pub(crate) enum Command {
    /// One history row.
    Log {
        step: u64,
        values: Values,
        time: SystemTime,
        runtime: Duration,
    },
    /// A summary update.
    Summary(Values),
    /// A config update.
    Config(String, serde_json::Value),
    /// Write the exit record, flush and stop.
    Finish { exit_code: i32, runtime: Duration },
}

/// Everything the run record says, resolved by the builder.
#[derive(Debug)]
pub(crate) struct RunSpec {
    pub run_id: String,
    pub project: String,
    pub entity: String,
    pub name: Option<String>,
    pub notes: Option<String>,
    pub group: Option<String>,
    pub job_type: Option<String>,
    pub tags: Vec<String>,
    pub config: serde_json::Map<String, serde_json::Value>,
    /// The `wandb/` directory.
    pub root: PathBuf,
}

/// Owns the open transaction log; lives on the writer thread after [`Writer::create`].
#[derive(Debug)]
pub(crate) struct Writer {
    file: File,
    log_path: PathBuf,
    files_dir: PathBuf,
    images_dir_made: bool,
    framer: Framer,
    buf: Vec<u8>,
    num: i64,
    run_id: String,
    feature: proto::Feature,
    platform: String,
}

fn timestamp(t: SystemTime) -> proto::Timestamp {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    proto::Timestamp {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

/// `YYYYMMDD_HHMMSS` in UTC, as in W&B's run directory names.
pub(crate) fn dir_time(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant, "chrono-Compatible Low-Level Date
    // Algorithms", civil_from_days).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}_{:02}{:02}{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_default()
}

/// Points `wandb/latest-run` at the new run, as the official client does (best effort).
#[cfg(unix)]
fn link_latest(root: &Path, dir_name: &str) {
    let link = root.join("latest-run");
    let tmp = root.join(format!(".latest-run-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    if std::os::unix::fs::symlink(dir_name, &tmp).is_ok() && fs::rename(&tmp, &link).is_err() {
        let _ = fs::remove_file(&tmp);
    }
}

#[cfg(not(unix))]
fn link_latest(_root: &Path, _dir_name: &str) {}

fn create_dir(path: &Path) -> Result<(), WandbError> {
    fs::create_dir_all(path).map_err(|source| WandbError::CreateDir {
        path: path.to_owned(),
        source,
    })
}

impl Writer {
    /// Creates the run directory and the log, and writes the first records; on the caller's
    /// thread, so that a directory that cannot be written is reported by `spawn`.
    pub(crate) fn create(
        spec: RunSpec,
        start_time: SystemTime,
    ) -> Result<(Self, PathBuf), WandbError> {
        let dir_name = format!("offline-run-{}-{}", dir_time(start_time), spec.run_id);
        let run_dir = spec.root.join(&dir_name);
        let files_dir = run_dir.join("files");
        create_dir(&files_dir)?;
        create_dir(&run_dir.join("logs"))?;
        let log_path = run_dir.join(format!("run-{}.wandb", spec.run_id));
        // As wandb-core: never truncate an existing log.
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&log_path)
            .map_err(|source| WandbError::Write {
                path: log_path.clone(),
                source,
            })?;
        let feature = proto::Feature {
            offline: true,
            set_init_name: spec.name.is_some(),
            set_init_id: false,
            set_init_tags: !spec.tags.is_empty(),
            set_init_config: !spec.config.is_empty(),
            ..proto::Feature::default()
        };
        let mut writer = Self {
            file,
            log_path,
            files_dir,
            images_dir_made: false,
            framer: Framer::new(),
            buf: Vec::with_capacity(4096),
            num: 0,
            run_id: spec.run_id.clone(),
            feature,
            platform: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
        };
        writer.framer.start(&mut writer.buf);
        writer.push(RecordType::Header(proto::HeaderRecord {
            version_info: Some(proto::VersionInfo {
                producer: format!(
                    "recwatch {} (wandb {} format)",
                    env!("CARGO_PKG_VERSION"),
                    super::WANDB_FORMAT_VERSION
                ),
                min_consumer: String::new(),
            }),
        }));

        // The config as the official client writes it: `_wandb` first, then one item per key
        // with the value's JSON (objects stay nested).
        let mut update = vec![proto::ConfigItem {
            key: "_wandb".to_owned(),
            nested_key: Vec::new(),
            value_json: "{}".to_owned(),
        }];
        update.extend(spec.config.iter().map(|(k, v)| proto::ConfigItem {
            key: k.clone(),
            nested_key: Vec::new(),
            value_json: v.to_string(),
        }));
        let host = hostname();
        let telemetry = writer.telemetry();
        writer.push(RecordType::Run(proto::RunRecord {
            run_id: spec.run_id.clone(),
            entity: spec.entity,
            project: spec.project,
            config: Some(proto::ConfigRecord { update }),
            run_group: spec.group.unwrap_or_default(),
            job_type: spec.job_type.unwrap_or_default(),
            display_name: spec.name.unwrap_or_default(),
            notes: spec.notes.unwrap_or_default(),
            tags: spec.tags,
            host: host.clone(),
            start_time: Some(timestamp(start_time)),
            telemetry: Some(telemetry.clone()),
        }));
        let exe = std::env::current_exe().ok();
        writer.push(RecordType::Environment(proto::EnvironmentRecord {
            os: writer.platform.clone(),
            started_at: Some(timestamp(start_time)),
            program: exe
                .as_ref()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            root: std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            host,
            executable: exe.map(|p| p.display().to_string()).unwrap_or_default(),
            cpu_count_logical: std::thread::available_parallelism()
                .map_or(0, |n| u32::try_from(n.get()).unwrap_or(u32::MAX)),
            writer_id: super::random_text(32),
        }));
        writer.push(RecordType::Telemetry(telemetry));
        writer.flush()?;
        link_latest(&spec.root, &dir_name);
        Ok((writer, run_dir))
    }

    fn telemetry(&self) -> proto::TelemetryRecord {
        proto::TelemetryRecord {
            feature: Some(self.feature),
            platform: self.platform.clone(),
        }
    }

    /// Frames one record into the buffer.
    fn push(&mut self, record_type: RecordType) {
        self.num += 1;
        let record = proto::Record {
            num: self.num,
            record_type: Some(record_type),
            info: Some(proto::RecordInfo {
                stream_id: self.run_id.clone(),
            }),
        };
        let bytes = record.encode_to_vec();
        self.framer.frame(&bytes, &mut self.buf);
    }

    /// Hands the buffered records to the file in one `write_all`.
    fn flush(&mut self) -> Result<(), WandbError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let result = self.file.write_all(&self.buf);
        self.buf.clear();
        result.map_err(|source| WandbError::Write {
            path: self.log_path.clone(),
            source,
        })
    }

    /// Runs the writer until `Finish` or until the handle is dropped; returns the number of
    /// records written.
    pub(crate) fn run(
        mut self,
        rx: &Receiver<Command>,
        shared: &Shared,
    ) -> Result<u64, WandbError> {
        loop {
            let Ok(first) = rx.recv() else {
                // The handle was dropped without finish.
                let code = shared.exit_code_on_drop.load(Ordering::Relaxed);
                return self.finish(code, None);
            };
            let mut next = Some(first);
            // Batch what is already queued into one write.
            let mut batch = 0;
            while let Some(command) = next.take() {
                match command {
                    Command::Finish { exit_code, runtime } => {
                        self.flush()?;
                        return self.finish(exit_code, Some(runtime));
                    }
                    other => {
                        if let Err(err) = self.handle(other) {
                            // Keep the complete records of this batch, then stop.
                            let _ = self.flush();
                            return Err(err);
                        }
                    }
                }
                batch += 1;
                if batch < 256 {
                    next = rx.try_recv().ok();
                }
            }
            self.flush()?;
        }
    }

    fn handle(&mut self, command: Command) -> Result<(), WandbError> {
        match command {
            Command::Log {
                step,
                values,
                time,
                runtime,
            } => self.history(step, values, time, runtime),
            Command::Summary(values) => self.summary(values),
            Command::Config(key, value) => {
                self.push(RecordType::Config(proto::ConfigRecord {
                    update: vec![proto::ConfigItem {
                        key,
                        nested_key: Vec::new(),
                        value_json: value.to_string(),
                    }],
                }));
                Ok(())
            }
            Command::Finish { .. } => unreachable!("handled by run"),
        }
    }

    /// Writes an image's PNG under `files/media/images/` and returns its `image-file` value.
    fn image(
        &mut self,
        key: &str,
        tag: &str,
        image: &Image,
    ) -> Result<serde_json::Value, WandbError> {
        let digest = hex(&Sha256::digest(image.png()));
        let safe: String = key
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let rel = format!("media/images/{safe}_{tag}_{}.png", &digest[..20]);
        let path = self.files_dir.join(&rel);
        if !self.images_dir_made {
            create_dir(path.parent().unwrap_or(&self.files_dir))?;
            self.images_dir_made = true;
        }
        fs::write(&path, image.png()).map_err(|source| WandbError::Write {
            path: path.clone(),
            source,
        })?;
        self.push(RecordType::Files(proto::FilesRecord {
            files: vec![proto::FilesItem {
                path: rel.clone(),
                policy: 0,
                r#type: 0,
            }],
        }));
        let mut value = serde_json::json!({
            "_type": "image-file",
            "format": "png",
            "height": image.height(),
            "path": rel,
            "sha256": digest,
            "size": image.png().len(),
            "width": image.width(),
        });
        if let Some(caption) = image.caption() {
            value["caption"] = caption.into();
        }
        Ok(value)
    }

    /// The `(nested key, value_json)` leaves of a row; images are written first.
    fn leaves(
        &mut self,
        values: Values,
        tag: &str,
    ) -> Result<Vec<(Vec<String>, String)>, WandbError> {
        let mut out = Vec::with_capacity(values.entries.len() + 3);
        for (key, entry) in values.entries {
            match entry {
                Entry::Number(v) => out.push((vec![key], float_json(v))),
                Entry::Integer(v) => out.push((vec![key], v.to_string())),
                Entry::Text(s) => out.push((vec![key], text_json(&s))),
                Entry::Map(map) => {
                    for (k, v) in map {
                        out.push((vec![key.clone(), k], float_json(v)));
                    }
                }
                Entry::Json(v) => flatten_json(&mut vec![key], &v, &mut out),
                Entry::Image(image) => {
                    let v = self.image(&key, tag, &image)?;
                    flatten_json(&mut vec![key], &v, &mut out);
                }
            }
        }
        Ok(out)
    }

    /// One row: its files, a summary update with its values, then the history record — the
    /// order the official client writes.
    fn history(
        &mut self,
        step: u64,
        values: Values,
        time: SystemTime,
        runtime: Duration,
    ) -> Result<(), WandbError> {
        let mut leaves = self.leaves(values, &step.to_string())?;
        let unix = time
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        leaves.push((vec!["_step".to_owned()], step.to_string()));
        leaves.push((
            vec!["_runtime".to_owned()],
            float_json(runtime.as_secs_f64()),
        ));
        leaves.push((vec!["_timestamp".to_owned()], float_json(unix)));
        let summary = leaves
            .iter()
            .map(|(path, value_json)| proto::SummaryItem {
                key: String::new(),
                nested_key: path.clone(),
                value_json: value_json.clone(),
            })
            .collect();
        self.push(RecordType::Summary(proto::SummaryRecord {
            update: summary,
        }));
        let item = leaves
            .into_iter()
            .map(|(nested_key, value_json)| proto::HistoryItem {
                key: String::new(),
                nested_key,
                value_json,
            })
            .collect();
        self.push(RecordType::History(proto::HistoryRecord {
            item,
            step: Some(proto::HistoryStep {
                num: i64::try_from(step).unwrap_or(i64::MAX),
            }),
        }));
        Ok(())
    }

    fn summary(&mut self, values: Values) -> Result<(), WandbError> {
        let mut update = Vec::with_capacity(values.entries.len());
        for (key, entry) in values.entries {
            let value_json = match entry {
                Entry::Number(v) => float_json(v),
                Entry::Integer(v) => v.to_string(),
                Entry::Text(s) => text_json(&s),
                Entry::Map(map) => {
                    let body: Vec<String> = map
                        .iter()
                        .map(|(k, v)| format!("{}:{}", text_json(k), float_json(*v)))
                        .collect();
                    format!("{{{}}}", body.join(","))
                }
                Entry::Json(v) => v.to_string(),
                Entry::Image(image) => self.image(&key, "summary", &image)?.to_string(),
            };
            update.push(proto::SummaryItem {
                key,
                nested_key: Vec::new(),
                value_json,
            });
        }
        if !self.feature.set_summary {
            self.feature.set_summary = true;
            let telemetry = self.telemetry();
            self.push(RecordType::Telemetry(telemetry));
        }
        self.push(RecordType::Summary(proto::SummaryRecord { update }));
        Ok(())
    }

    /// Telemetry with `finish`, the runtime summary, the exit record; then flush and sync.
    fn finish(mut self, exit_code: i32, runtime: Option<Duration>) -> Result<u64, WandbError> {
        self.feature.finish = runtime.is_some();
        let telemetry = self.telemetry();
        self.push(RecordType::Telemetry(telemetry));
        let secs = runtime.unwrap_or_default();
        let whole = i32::try_from(secs.as_secs()).unwrap_or(i32::MAX);
        self.push(RecordType::Summary(proto::SummaryRecord {
            update: vec![
                proto::SummaryItem {
                    key: String::new(),
                    nested_key: vec!["_wandb".to_owned(), "runtime".to_owned()],
                    value_json: whole.to_string(),
                },
                proto::SummaryItem {
                    key: "_runtime".to_owned(),
                    nested_key: Vec::new(),
                    value_json: float_json(secs.as_secs_f64()),
                },
            ],
        }));
        self.push(RecordType::Exit(proto::RunExitRecord {
            exit_code,
            runtime: whole,
        }));
        self.flush()?;
        self.file.sync_all().map_err(|source| WandbError::Write {
            path: self.log_path.clone(),
            source,
        })?;
        Ok(u64::try_from(self.num).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_directory_times_are_utc_calendar_times() {
        // python3 -c "import datetime as d; print(d.datetime.fromtimestamp(1796112514, d.UTC)
        //   .strftime('%Y%m%d_%H%M%S'), d.datetime.fromtimestamp(951825600, d.UTC)
        //   .strftime('%Y%m%d_%H%M%S'))" -> 20261201_080834 20000229_120000
        let at = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(dir_time(at(1_796_112_514)), "20261201_080834");
        assert_eq!(dir_time(at(951_825_600)), "20000229_120000");
        assert_eq!(dir_time(at(0)), "19700101_000000");
    }
}
