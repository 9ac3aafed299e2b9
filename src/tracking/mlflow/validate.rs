//! Client-side checks that mirror the MLflow server's (`mlflow/utils/validation.py`, 3.x).

use super::super::{KeyProblem, TrackingError};

/// Longest metric, param and tag key.
pub const MAX_KEY_LENGTH: usize = 250;
/// Longest param value.
pub const MAX_PARAM_VALUE_LENGTH: usize = 6000;
/// Longest tag value.
pub const MAX_TAG_VALUE_LENGTH: usize = 8000;
/// Most metrics in one log-batch request.
pub const MAX_METRICS_PER_BATCH: usize = 1000;
/// Most params (and, separately, tags) in one log-batch request.
pub const MAX_PARAMS_TAGS_PER_BATCH: usize = 100;
/// Most metrics + params + tags in one log-batch request.
pub const MAX_ENTITIES_PER_BATCH: usize = 1000;
/// Longest experiment name.
pub const MAX_EXPERIMENT_NAME_LENGTH: usize = 500;

fn allowed(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | ':' | '/')
}

/// The server's key rule: `^[/\w.\- :]*$`, not empty, a normalised relative path (what
/// `posixpath.normpath` leaves unchanged and that does not start with `/` or `..`), at most 250
/// characters.
pub(crate) fn key_problem(key: &str) -> Option<KeyProblem> {
    if key.is_empty() {
        return Some(KeyProblem::Empty);
    }
    if let Some(c) = key.chars().find(|c| !allowed(*c)) {
        return Some(KeyProblem::Character(c));
    }
    if key.starts_with('/')
        || key.ends_with('/')
        || key
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return Some(KeyProblem::Path);
    }
    let len = key.chars().count();
    (len > MAX_KEY_LENGTH).then_some(KeyProblem::TooLong(len))
}

pub(crate) fn check_key(what: &'static str, key: &str) -> Result<(), TrackingError> {
    match key_problem(key) {
        None => Ok(()),
        Some(problem) => Err(TrackingError::InvalidKey {
            what,
            key: key.to_owned(),
            problem,
        }),
    }
}

pub(crate) fn check_value(
    what: &'static str,
    key: &str,
    value: &str,
    limit: usize,
) -> Result<(), TrackingError> {
    let len = value.chars().count();
    if len > limit {
        return Err(TrackingError::ValueTooLong {
            what,
            key: key.to_owned(),
            len,
            limit,
        });
    }
    Ok(())
}

/// A key the server accepts, made from any string by a documented rule: `@` becomes `_at_`
/// (`ndcg@10` → `ndcg_at_10`), every other character the server rejects becomes `_`, empty or
/// `.`/`..` path segments become `_`, and the result is cut to at most 250 characters (an empty
/// key becomes `_`). Keys that are already valid are returned unchanged.
///
/// # Examples
///
/// ```
/// use recwatch::tracking::sanitize_key;
/// assert_eq!(sanitize_key("ndcg@10"), "ndcg_at_10");
/// assert_eq!(sanitize_key("loss (val)"), "loss _val_");
/// assert_eq!(sanitize_key("/a//b/"), "_/a/_/b/_");
/// assert_eq!(sanitize_key("train_loss"), "train_loss");
/// ```
pub fn sanitize_key(key: &str) -> String {
    if key_problem(key).is_none() {
        return key.to_owned();
    }
    let chars: String = key
        .chars()
        .map(|c| {
            if c == '@' {
                "_at_".to_owned()
            } else if allowed(c) {
                c.to_string()
            } else {
                "_".to_owned()
            }
        })
        .collect();
    // Cutting to 249 characters can only change the last segment; fixing segments afterwards
    // adds at most one character (a trailing empty segment becomes `_`).
    let cut: String = fix_segments(&chars)
        .chars()
        .take(MAX_KEY_LENGTH - 1)
        .collect();
    fix_segments(&cut)
}

fn fix_segments(key: &str) -> String {
    key.split('/')
        .map(|seg| {
            if seg.is_empty() || seg == "." || seg == ".." {
                "_"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_the_server() {
        for ok in [
            "train_loss",
            "a/b",
            "val loss",
            "m:1",
            "ndcg_at_10",
            "précision",
            "a.b-c",
        ] {
            assert_eq!(key_problem(ok), None, "{ok}");
        }
        assert_eq!(key_problem("ndcg@10"), Some(KeyProblem::Character('@')));
        assert_eq!(key_problem(""), Some(KeyProblem::Empty));
        for bad in ["/a", "a/", "a//b", "./a", "a/../b", ".", ".."] {
            assert_eq!(key_problem(bad), Some(KeyProblem::Path), "{bad}");
        }
        assert_eq!(
            key_problem(&"k".repeat(251)),
            Some(KeyProblem::TooLong(251))
        );
        assert_eq!(key_problem(&"k".repeat(250)), None);
    }

    #[test]
    fn sanitised_keys_are_valid() {
        let long = format!("{}@/..x", "a".repeat(242));
        for k in [
            "ndcg@10",
            "",
            "/",
            "..",
            "a//b",
            "x\ny",
            "é@/",
            &"@".repeat(300),
            "a/.",
            &long,
        ] {
            let s = sanitize_key(k);
            assert_eq!(key_problem(&s), None, "{k:?} -> {s:?}");
        }
    }
}
