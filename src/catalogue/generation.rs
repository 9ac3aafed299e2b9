//! Metrics of streamed generation (`recwatch::inference::GenerationTracker`, feature
//! `generation`): time to first token, time per output token, request duration, token usage,
//! running and waiting requests, cost and GPU time.
//!
//! The four metrics that the OpenTelemetry GenAI semantic conventions define have a second name
//! and label set, chosen with [`Naming::OpenTelemetry`](super::Naming::OpenTelemetry):
//! `gen_ai.server.time_to_first_token`, `gen_ai.server.time_per_output_token`,
//! `gen_ai.server.request.duration` and `gen_ai.client.token.usage`, written the way
//! OpenTelemetry's Prometheus exporters write them (dots become underscores, the unit `s` becomes
//! a `_seconds` suffix, the annotation unit `{token}` adds none). Their default buckets are the
//! conventions' advisory boundaries. The other metrics have no semantic-convention counterpart
//! and keep their names in both schemes.

use super::{MetricKind::*, MetricSpec, MetricUnit};

/// Buckets (seconds) of the time to first token: the GenAI conventions' advisory boundaries,
/// 1 ms to 10 s.
pub const TIME_TO_FIRST_TOKEN_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Buckets (seconds) of the time per output token: the GenAI conventions' advisory boundaries,
/// 10 ms to 2.5 s.
pub const TIME_PER_OUTPUT_TOKEN_BUCKETS: &[f64] = &[
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
];

/// Buckets (seconds) of a whole generation: the GenAI conventions' advisory boundaries for
/// request durations, 10 ms to 81.92 s (doubling).
pub const GENERATION_DURATION_BUCKETS: &[f64] = &[
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/// Buckets (tokens) of the token usage per request: the GenAI conventions' advisory boundaries,
/// powers of four from 1 to 4^13.
pub const TOKEN_USAGE_BUCKETS: &[f64] = &[
    1.0,
    4.0,
    16.0,
    64.0,
    256.0,
    1024.0,
    4096.0,
    16384.0,
    65536.0,
    262_144.0,
    1_048_576.0,
    4_194_304.0,
    16_777_216.0,
    67_108_864.0,
];

/// `model_time_to_first_token_seconds` / `gen_ai_server_time_to_first_token_seconds`: time from
/// the start of a generation (its arrival, queueing included) to its first output token
/// (histogram; model, `model_version`). Recorded when the first token is produced.
pub const TIME_TO_FIRST_TOKEN_SECONDS: MetricSpec = MetricSpec::new(
    "model_time_to_first_token_seconds",
    Histogram,
    MetricUnit::Seconds,
    "generation",
    "Time from the start of a generation to its first output token, in seconds.",
)
.labels(&["model", "model_version"])
.otel(
    "gen_ai_server_time_to_first_token_seconds",
    &["gen_ai_request_model", "model_version"],
)
.buckets(TIME_TO_FIRST_TOKEN_BUCKETS);

/// `model_time_per_output_token_seconds` / `gen_ai_server_time_per_output_token_seconds`: mean
/// time per output token after the first, one observation per successful generation with at
/// least two output tokens (histogram; model, `model_version`).
pub const TIME_PER_OUTPUT_TOKEN_SECONDS: MetricSpec = MetricSpec::new(
    "model_time_per_output_token_seconds",
    Histogram,
    MetricUnit::Seconds,
    "generation",
    "Mean time per output token after the first, per successful generation, in seconds.",
)
.labels(&["model", "model_version"])
.otel(
    "gen_ai_server_time_per_output_token_seconds",
    &["gen_ai_request_model", "model_version"],
)
.buckets(TIME_PER_OUTPUT_TOKEN_BUCKETS);

/// `model_generation_duration_seconds` / `gen_ai_server_request_duration_seconds`: whole
/// generation, start to last token or abandonment (histogram; model, `model_version`, outcome;
/// in the OpenTelemetry naming `error_type`, absent for successful generations).
pub const GENERATION_DURATION_SECONDS: MetricSpec = MetricSpec::new(
    "model_generation_duration_seconds",
    Histogram,
    MetricUnit::Seconds,
    "generation",
    "Duration of a whole generation, by outcome, in seconds.",
)
.labels(&["model", "model_version", "outcome"])
.otel(
    "gen_ai_server_request_duration_seconds",
    &["gen_ai_request_model", "model_version", "error_type"],
)
.buckets(GENERATION_DURATION_BUCKETS);

/// `model_token_usage` / `gen_ai_client_token_usage`: tokens per generation, by type (`input`
/// or `output`) (histogram; model, `model_version`, type).
pub const TOKEN_USAGE: MetricSpec = MetricSpec::new(
    "model_token_usage",
    Histogram,
    MetricUnit::Tokens,
    "generation",
    "Tokens used per generation, by type (input or output).",
)
.labels(&["model", "model_version", "type"])
.otel(
    "gen_ai_client_token_usage",
    &["gen_ai_request_model", "model_version", "gen_ai_token_type"],
)
.buckets(TOKEN_USAGE_BUCKETS);

/// `model_tokens_total`: tokens consumed and produced, by type (`input` or `output`) (counter;
/// model, `model_version`, type). Added when a generation ends, cancelled ones included.
pub const TOKENS_TOTAL: MetricSpec = MetricSpec::new(
    "model_tokens_total",
    Counter,
    MetricUnit::Tokens,
    "generation",
    "Tokens consumed (input) and produced (output) by generations.",
)
.labels(&["model", "model_version", "type"]);

/// `model_requests_running`: generations in progress (gauge; model, `model_version`).
pub const REQUESTS_RUNNING: MetricSpec = MetricSpec::new(
    "model_requests_running",
    Gauge,
    MetricUnit::None,
    "generation",
    "Generations in progress.",
)
.labels(&["model", "model_version"]);

/// `model_requests_waiting`: generations queued, not yet started (gauge; model,
/// `model_version`).
pub const REQUESTS_WAITING: MetricSpec = MetricSpec::new(
    "model_requests_waiting",
    Gauge,
    MetricUnit::None,
    "generation",
    "Generations waiting in a queue before they start.",
)
.labels(&["model", "model_version"]);

/// `model_cost_total`: cost of generations in the price table's currency, by type (`input`,
/// `output` or `gpu`) (fractional counter; model, `model_version`, type). Absent without prices.
pub const COST_TOTAL: MetricSpec = MetricSpec::new(
    "model_cost_total",
    Counter,
    MetricUnit::None,
    "generation",
    "Cost of generations in the price table's currency, by type (input, output, gpu).",
)
.labels(&["model", "model_version", "type"])
.fractional();

/// `model_gpu_seconds_total`: GPU time attributed to a model, the wall time during which at
/// least one of its generations ran times the GPUs it is configured to occupy (fractional
/// counter; model, `model_version`). Absent when no GPU count is configured.
pub const GPU_SECONDS_TOTAL: MetricSpec = MetricSpec::new(
    "model_gpu_seconds_total",
    Counter,
    MetricUnit::Seconds,
    "generation",
    "GPU seconds attributed to a model: busy wall time times its configured GPU count.",
)
.labels(&["model", "model_version"])
.fractional();

pub(super) const SPECS: &[MetricSpec] = &[
    TIME_TO_FIRST_TOKEN_SECONDS,
    TIME_PER_OUTPUT_TOKEN_SECONDS,
    GENERATION_DURATION_SECONDS,
    TOKEN_USAGE,
    TOKENS_TOTAL,
    REQUESTS_RUNNING,
    REQUESTS_WAITING,
    COST_TOTAL,
    GPU_SECONDS_TOTAL,
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Naming;

    /// The GenAI semantic conventions' metric names (as OpenTelemetry's Prometheus exporters
    /// write them), attribute keys and advisory buckets.
    #[test]
    fn semconv_names_match_the_genai_conventions() {
        let to_prom =
            |otel: &str, unit_suffix: &str| format!("{}{unit_suffix}", otel.replace('.', "_"));
        for (spec, otel, suffix) in [
            (
                TIME_TO_FIRST_TOKEN_SECONDS,
                "gen_ai.server.time_to_first_token",
                "_seconds",
            ),
            (
                TIME_PER_OUTPUT_TOKEN_SECONDS,
                "gen_ai.server.time_per_output_token",
                "_seconds",
            ),
            (
                GENERATION_DURATION_SECONDS,
                "gen_ai.server.request.duration",
                "_seconds",
            ),
            (TOKEN_USAGE, "gen_ai.client.token.usage", ""),
        ] {
            assert_eq!(
                spec.name_in(Naming::OpenTelemetry),
                Some(to_prom(otel, suffix).as_str())
            );
            assert_eq!(
                spec.labels_in(Naming::OpenTelemetry)[0],
                "gen_ai_request_model"
            );
        }
        assert_eq!(TOKEN_USAGE.otel_labels[2], "gen_ai_token_type");
        assert_eq!(GENERATION_DURATION_SECONDS.otel_labels[2], "error_type");
        assert_eq!(TOKEN_USAGE_BUCKETS.len(), 14);
        for pair in TOKEN_USAGE_BUCKETS.windows(2) {
            assert_eq!(pair[1], pair[0] * 4.0);
        }
        for pair in GENERATION_DURATION_BUCKETS.windows(2) {
            assert!((pair[1] - pair[0] * 2.0).abs() < 1e-9);
        }
        assert_eq!(TIME_TO_FIRST_TOKEN_BUCKETS.first(), Some(&0.001));
        assert_eq!(TIME_TO_FIRST_TOKEN_BUCKETS.last(), Some(&10.0));
        assert_eq!(TIME_PER_OUTPUT_TOKEN_BUCKETS.last(), Some(&2.5));
        // No semantic-convention counterpart: one name in both schemes.
        for spec in [
            TOKENS_TOTAL,
            REQUESTS_RUNNING,
            REQUESTS_WAITING,
            COST_TOTAL,
            GPU_SECONDS_TOTAL,
        ] {
            assert_eq!(spec.otel_name, None, "{}", spec.name);
        }
    }
}
