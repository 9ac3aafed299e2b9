//! Default histogram bucket layouts and their validation.

use crate::error::ExporterError;

/// Default buckets (seconds) for HTTP request latency: 5 ms to 60 s.
///
/// Chosen so the original design's latency alerts (p95 above 1 s, p99 above 5 s) fall on bucket
/// boundaries, while slow LLM-backed requests up to a minute are still resolved.
pub const DEFAULT_REQUEST_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Default buckets (seconds) for model inference latency: 5 ms to 120 s.
///
/// LLM inference is slow and heavy-tailed, so the range reaches two minutes.
pub const DEFAULT_INFERENCE_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0,
];

/// Default buckets for batch sizes: powers of two from 1 to 1024.
pub const DEFAULT_BATCH_SIZE_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
];

/// Bucket layout (seconds) of the sampler's own tick-duration histogram: 100 µs to 5 s.
pub const SAMPLER_TICK_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1.0, 5.0,
];

/// Checks that a bucket layout is usable: non-empty, finite, strictly increasing.
///
/// `metric` only names the layout in the error.
///
/// # Examples
///
/// ```
/// use recwatch::catalogue::validate_buckets;
///
/// assert!(validate_buckets("latency", &[0.1, 0.5, 1.0]).is_ok());
/// assert!(validate_buckets("latency", &[1.0, 0.5]).is_err());
/// assert!(validate_buckets("latency", &[]).is_err());
/// ```
pub fn validate_buckets(metric: &str, buckets: &[f64]) -> Result<(), ExporterError> {
    let reason = if buckets.is_empty() {
        Some("no bucket bounds given")
    } else if buckets.iter().any(|b| !b.is_finite()) {
        Some("bounds must be finite (the +Inf bucket is implicit)")
    } else if buckets.windows(2).any(|w| w[0] >= w[1]) {
        Some("bounds must be strictly increasing")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ExporterError::InvalidBuckets {
            metric: metric.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_cover_the_documented_range() {
        for b in [
            DEFAULT_REQUEST_BUCKETS,
            DEFAULT_INFERENCE_BUCKETS,
            DEFAULT_BATCH_SIZE_BUCKETS,
        ] {
            validate_buckets("x", b).unwrap();
        }
        assert_eq!(DEFAULT_REQUEST_BUCKETS[0], 0.005);
        assert!(*DEFAULT_REQUEST_BUCKETS.last().unwrap() >= 60.0);
        assert_eq!(DEFAULT_INFERENCE_BUCKETS[0], 0.005);
        assert!(*DEFAULT_INFERENCE_BUCKETS.last().unwrap() >= 60.0);
    }

    #[test]
    fn rejects_bad_layouts_with_reason() {
        let err = validate_buckets("m", &[0.1, f64::NAN]).unwrap_err();
        assert!(err.to_string().contains("finite"), "{err}");
        let err = validate_buckets("m", &[0.1, 0.1]).unwrap_err();
        assert!(err.to_string().contains("increasing"), "{err}");
        assert!(validate_buckets("m", &[f64::INFINITY]).is_err());
    }
}
