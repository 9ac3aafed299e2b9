//! The error type of `recwatch::quality`.

/// Why a quality metric could not be computed or published.
///
/// # Examples
///
/// ```
/// use recwatch::quality::{rmse, QualityError};
///
/// let err = rmse(&[1.0, 2.0], &[1.0]).unwrap_err();
/// assert!(matches!(err, QualityError::LengthMismatch { actual: 2, predicted: 1 }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QualityError {
    /// A metric needs at least one value (or one user, or one list) and got none.
    #[error("{what} is empty")]
    Empty {
        /// What was empty (`"predictions"`, `"recommendation lists"`, …).
        what: &'static str,
    },
    /// Actual and predicted values differ in length.
    #[error("{actual} actual values but {predicted} predicted values")]
    LengthMismatch {
        /// Number of actual values.
        actual: usize,
        /// Number of predicted values.
        predicted: usize,
    },
    /// A value is NaN or infinite.
    #[error("{what}[{index}] is not finite ({value})")]
    NonFinite {
        /// Which input (`"actual"`, `"predicted"`, `"relevance"`, `"rating"`).
        what: &'static str,
        /// Position of the value.
        index: usize,
        /// The value.
        value: f64,
    },
    /// `k` must be at least 1.
    #[error("k must be at least 1")]
    ZeroK,
    /// The catalogue size must be at least the number of distinct recommended items.
    #[error("catalogue of {catalogue} items is smaller than the {recommended} distinct items recommended")]
    CatalogueTooSmall {
        /// The catalogue size given.
        catalogue: usize,
        /// Distinct items found in the recommendation lists.
        recommended: usize,
    },
    /// An item has no (or zero) popularity, so its novelty (self-information) is infinite.
    #[error("recommended item at list {list}, position {position} has zero popularity")]
    ZeroPopularity {
        /// Index of the recommendation list.
        list: usize,
        /// Position of the item in the list.
        position: usize,
    },
    /// Popularity counts exceed the number of users they are shares of.
    #[error("popularity {count} exceeds the {users} users it is a share of")]
    PopularityAboveUsers {
        /// The offending count.
        count: u64,
        /// The number of users.
        users: u64,
    },
    /// The headline metric asked for is not in the report.
    #[error("headline metric `{0}` is not in the report")]
    MissingHeadline(&'static str),
    /// A feedback rating is outside the accepted range.
    #[error("rating {rating} is outside [{min}, {max}]")]
    RatingOutOfRange {
        /// The rating received.
        rating: f64,
        /// Lowest accepted rating.
        min: f64,
        /// Highest accepted rating.
        max: f64,
    },
    /// A configuration value is out of range.
    #[error("invalid quality configuration: {0}")]
    InvalidConfig(&'static str),
    /// A polars frame could not be read (column missing, wrong type, nulls).
    #[cfg(feature = "drift")]
    #[error("cannot read column `{column}` of the frame")]
    Frame {
        /// The column.
        column: String,
        /// Why.
        #[source]
        source: polars::error::PolarsError,
    },
    /// A frame column has nulls where a value is needed.
    #[cfg(feature = "drift")]
    #[error("column `{column}` has {nulls} null values")]
    Nulls {
        /// The column.
        column: String,
        /// How many nulls.
        nulls: usize,
    },
}
