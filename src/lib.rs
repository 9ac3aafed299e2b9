//! recwatch (crate docs are written at integration time).
#![deny(missing_docs, unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod error;
pub mod exporter;
#[cfg(feature = "http")]
pub mod http;
pub mod active_users;
pub mod inference;
#[cfg(feature = "sampler")]
pub mod sampler;

#[cfg(feature = "macros")]
pub use recwatch_macros::track_inference;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use error::ExporterError;
