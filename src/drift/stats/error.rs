use thiserror::Error;

/// Errors returned by the statistics kernels in [`crate::drift::stats`].
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum StatsError {
    /// A sample or count vector was empty.
    #[error("sample `{name}` is empty")]
    EmptySample {
        /// Which argument was empty.
        name: &'static str,
    },
    /// A sample contained NaN or ±∞; callers must drop such values first.
    #[error("sample `{name}` contains NaN or infinite values")]
    NonFinite {
        /// Which argument held the value.
        name: &'static str,
    },
    /// Two vectors that must have equal length did not.
    #[error("length mismatch: {left} vs {right}")]
    LengthMismatch {
        /// Length of the first vector.
        left: usize,
        /// Length of the second vector.
        right: usize,
    },
    /// A parameter was outside its domain.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// Why it is invalid.
        reason: &'static str,
    },
}
