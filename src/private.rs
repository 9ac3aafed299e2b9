//! Hidden support module for generated code (placeholder: owned by the inference work).
