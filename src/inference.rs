//! Runtime side of `#[track_inference]` (placeholder: owned by the inference work).
