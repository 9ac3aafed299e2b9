//! Resource sampler (placeholder: owned by the sampler work).
