//! The subset of W&B's published protobuf schema (`wandb/proto/wandb_internal.proto`,
//! `wandb/proto/wandb_telemetry.proto` in wandb 0.31.0) that an offline run needs.
//!
//! Message and field names and numbers are those of the schema, so the official reader decodes
//! these messages as its own; fields recwatch never sets are left out (protobuf readers skip
//! absent fields). Hand-written `prost` derives, so no `protoc` runs at build time.

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub(crate) struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// `wandb_internal.Record`: one entry of the transaction log.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Record {
    #[prost(int64, tag = "1")]
    pub num: i64,
    #[prost(oneof = "RecordType", tags = "2, 3, 5, 6, 11, 17, 18, 21, 26")]
    pub record_type: Option<RecordType>,
    #[prost(message, optional, tag = "200")]
    pub info: Option<RecordInfo>,
}

/// `wandb_internal.Record.record_type`, the variants recwatch writes.
#[derive(Clone, PartialEq, prost::Oneof)]
pub(crate) enum RecordType {
    #[prost(message, tag = "2")]
    History(HistoryRecord),
    #[prost(message, tag = "3")]
    Summary(SummaryRecord),
    #[prost(message, tag = "5")]
    Config(ConfigRecord),
    #[prost(message, tag = "6")]
    Files(FilesRecord),
    #[prost(message, tag = "11")]
    Telemetry(TelemetryRecord),
    #[prost(message, tag = "17")]
    Run(RunRecord),
    #[prost(message, tag = "18")]
    Exit(RunExitRecord),
    #[prost(message, tag = "21")]
    Header(HeaderRecord),
    #[prost(message, tag = "26")]
    Environment(EnvironmentRecord),
}

/// `wandb_internal._RecordInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct RecordInfo {
    #[prost(string, tag = "1")]
    pub stream_id: String,
}

/// `wandb_internal.HeaderRecord`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct HeaderRecord {
    #[prost(message, optional, tag = "1")]
    pub version_info: Option<VersionInfo>,
}

/// `wandb_internal.VersionInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct VersionInfo {
    #[prost(string, tag = "1")]
    pub producer: String,
    #[prost(string, tag = "2")]
    pub min_consumer: String,
}

/// `wandb_internal.RunRecord`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct RunRecord {
    #[prost(string, tag = "1")]
    pub run_id: String,
    #[prost(string, tag = "2")]
    pub entity: String,
    #[prost(string, tag = "3")]
    pub project: String,
    #[prost(message, optional, tag = "4")]
    pub config: Option<ConfigRecord>,
    #[prost(string, tag = "6")]
    pub run_group: String,
    #[prost(string, tag = "7")]
    pub job_type: String,
    #[prost(string, tag = "8")]
    pub display_name: String,
    #[prost(string, tag = "9")]
    pub notes: String,
    #[prost(string, repeated, tag = "10")]
    pub tags: Vec<String>,
    #[prost(string, tag = "13")]
    pub host: String,
    #[prost(message, optional, tag = "17")]
    pub start_time: Option<Timestamp>,
    #[prost(message, optional, tag = "19")]
    pub telemetry: Option<TelemetryRecord>,
}

/// `wandb_internal.ConfigRecord`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ConfigRecord {
    #[prost(message, repeated, tag = "1")]
    pub update: Vec<ConfigItem>,
}

/// `wandb_internal.ConfigItem`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct ConfigItem {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, repeated, tag = "2")]
    pub nested_key: Vec<String>,
    #[prost(string, tag = "16")]
    pub value_json: String,
}

/// `wandb_internal.HistoryRecord`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct HistoryRecord {
    #[prost(message, repeated, tag = "1")]
    pub item: Vec<HistoryItem>,
    #[prost(message, optional, tag = "2")]
    pub step: Option<HistoryStep>,
}

/// `wandb_internal.HistoryItem` (recwatch uses the `value_json` form, as the official client).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct HistoryItem {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, repeated, tag = "2")]
    pub nested_key: Vec<String>,
    #[prost(string, tag = "16")]
    pub value_json: String,
}

/// `wandb_internal.HistoryStep`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct HistoryStep {
    #[prost(int64, tag = "1")]
    pub num: i64,
}

/// `wandb_internal.SummaryRecord`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct SummaryRecord {
    #[prost(message, repeated, tag = "1")]
    pub update: Vec<SummaryItem>,
}

/// `wandb_internal.SummaryItem`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct SummaryItem {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, repeated, tag = "2")]
    pub nested_key: Vec<String>,
    #[prost(string, tag = "16")]
    pub value_json: String,
}

/// `wandb_internal.FilesRecord`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct FilesRecord {
    #[prost(message, repeated, tag = "1")]
    pub files: Vec<FilesItem>,
}

/// `wandb_internal.FilesItem` (policy `NOW` = 0, type `OTHER` = 0, `MEDIA` = 2).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct FilesItem {
    #[prost(string, tag = "1")]
    pub path: String,
    #[prost(int32, tag = "2")]
    pub policy: i32,
    #[prost(int32, tag = "3")]
    pub r#type: i32,
}

/// `wandb_internal.RunExitRecord`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct RunExitRecord {
    #[prost(int32, tag = "1")]
    pub exit_code: i32,
    #[prost(int32, tag = "2")]
    pub runtime: i32,
}

/// `wandb_internal.EnvironmentRecord`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct EnvironmentRecord {
    #[prost(string, tag = "1")]
    pub os: String,
    #[prost(message, optional, tag = "3")]
    pub started_at: Option<Timestamp>,
    #[prost(string, tag = "6")]
    pub program: String,
    #[prost(string, tag = "11")]
    pub root: String,
    #[prost(string, tag = "12")]
    pub host: String,
    #[prost(string, tag = "14")]
    pub executable: String,
    #[prost(uint32, tag = "17")]
    pub cpu_count_logical: u32,
    #[prost(string, tag = "199")]
    pub writer_id: String,
}

/// `wandb_internal.TelemetryRecord`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct TelemetryRecord {
    #[prost(message, optional, tag = "3")]
    pub feature: Option<Feature>,
    #[prost(string, tag = "13")]
    pub platform: String,
}

/// `wandb_internal.Feature`, the flags recwatch can truthfully report.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub(crate) struct Feature {
    #[prost(bool, tag = "2")]
    pub finish: bool,
    #[prost(bool, tag = "4")]
    pub offline: bool,
    #[prost(bool, tag = "13")]
    pub set_init_name: bool,
    #[prost(bool, tag = "14")]
    pub set_init_id: bool,
    #[prost(bool, tag = "15")]
    pub set_init_tags: bool,
    #[prost(bool, tag = "16")]
    pub set_init_config: bool,
    #[prost(bool, tag = "61")]
    pub set_step_log: bool,
    #[prost(bool, tag = "62")]
    pub set_summary: bool,
}
