//! placeholder
pub use crate::quality::QualityError as TrackingError;
