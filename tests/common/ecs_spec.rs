//! The ECS logging specification (github.com/elastic/ecs-logging, `spec/spec.json`, version 1.0
//! of the spec, as of commit eabe529), as data, and a check of one log line against it.
//!
//! The rules checked, all from the specification and its README:
//! - the line is one JSON object, without duplicate keys;
//! - every `required` field is present, with its type (`datetime`: an RFC 3339 string);
//! - the fields with an `index` come first, in that order (`@timestamp`, `log.level`,
//!   `message` when present);
//! - `top_level_field` fields are dotted top-level keys, never nested objects;
//! - every other field of the specification that is present has its type, dotted or nested;
//! - `labels` keys contain no `.`, `*` or `\`;
//! - dotted keys expand without clashes (no key is both a value and an object's prefix).

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Datetime,
    String,
    Integer,
    Object,
}

pub struct SpecField {
    pub name: &'static str,
    pub ty: Type,
    pub required: bool,
    pub index: Option<usize>,
    pub top_level_field: bool,
}

const fn f(
    name: &'static str,
    ty: Type,
    required: bool,
    index: Option<usize>,
    top_level_field: bool,
) -> SpecField {
    SpecField {
        name,
        ty,
        required,
        index,
        top_level_field,
    }
}

/// `spec.json`'s `fields`, in its order.
pub const SPEC: &[SpecField] = &[
    f("@timestamp", Type::Datetime, true, Some(0), false),
    f("log.level", Type::String, true, Some(1), true),
    f("message", Type::String, false, Some(2), false),
    f("ecs.version", Type::String, true, None, true),
    f("labels", Type::Object, false, None, false),
    f("trace.id", Type::String, false, None, false),
    f("transaction.id", Type::String, false, None, false),
    f("service.name", Type::String, false, None, false),
    f("service.node.name", Type::String, false, None, false),
    f("service.version", Type::String, false, None, false),
    f("event.dataset", Type::String, false, None, false),
    f("service.environment", Type::String, false, None, false),
    f("process.thread.name", Type::String, false, None, false),
    f("log.logger", Type::String, false, None, false),
    f("log.origin.file.line", Type::Integer, false, None, false),
    f("log.origin.file.name", Type::String, false, None, false),
    f("log.origin.function", Type::String, false, None, false),
    f("error.type", Type::String, false, None, false),
    f("error.message", Type::String, false, None, false),
    f("error.stack_trace", Type::String, false, None, false),
];

/// A JSON object's entries in the order they appear on the line.
pub struct Ordered(pub Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    entries.push((k, v));
                }
                Ok(Ordered(entries))
            }
        }
        d.deserialize_map(V)
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || b[10] != b'T'
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &s[i..] {
        "Z" => true,
        zone => {
            let z = zone.as_bytes();
            z.len() == 6
                && (z[0] == b'+' || z[0] == b'-')
                && z[1..3].iter().all(u8::is_ascii_digit)
                && z[3] == b':'
                && z[4..6].iter().all(u8::is_ascii_digit)
        }
    }
}

fn has_type(v: &Value, ty: Type) -> bool {
    match ty {
        Type::Datetime => v.as_str().is_some_and(is_rfc3339),
        Type::String => v.is_string(),
        Type::Integer => v.is_i64() || v.is_u64(),
        Type::Object => v.is_object(),
    }
}

/// The value of a dotted name, as a dotted key or nested objects.
fn lookup<'a>(entries: &'a [(String, Value)], name: &str) -> Option<&'a Value> {
    if let Some((_, v)) = entries.iter().find(|(k, _)| k == name) {
        return Some(v);
    }
    let mut parts = name.split('.');
    let first = parts.next()?;
    let mut v = &entries.iter().find(|(k, _)| k == first)?.1;
    for p in parts {
        v = v.as_object()?.get(p)?;
    }
    Some(v)
}

/// Checks one line; the error says which rule it breaks.
pub fn check_line(line: &str) -> Result<Vec<(String, Value)>, String> {
    let Ordered(entries) =
        serde_json::from_str(line).map_err(|e| format!("not a JSON object ({e}): {line}"))?;
    let mut seen = std::collections::HashSet::new();
    for (k, _) in &entries {
        if !seen.insert(k.as_str()) {
            return Err(format!("duplicate key `{k}`: {line}"));
        }
    }
    for field in SPEC {
        let value = if field.top_level_field {
            let nested = field.name.split_once('.').and_then(|(root, rest)| {
                entries
                    .iter()
                    .find(|(k, _)| k == root)
                    .and_then(|(_, v)| v.as_object())
                    .and_then(|o| o.get(rest))
            });
            if nested.is_some() {
                return Err(format!("`{}` must not be nested: {line}", field.name));
            }
            entries
                .iter()
                .find(|(k, _)| k == field.name)
                .map(|(_, v)| v)
        } else {
            lookup(&entries, field.name)
        };
        match value {
            None if field.required => {
                return Err(format!("required field `{}` missing: {line}", field.name))
            }
            None => {}
            Some(v) if !has_type(v, field.ty) => {
                return Err(format!(
                    "`{}` is not a {:?}: {v} in {line}",
                    field.name, field.ty
                ))
            }
            Some(_) => {}
        }
    }
    // Indexed fields first, in index order.
    let mut indexed: Vec<&SpecField> = SPEC.iter().filter(|f| f.index.is_some()).collect();
    indexed.sort_by_key(|f| f.index);
    let expected: Vec<&str> = indexed
        .iter()
        .filter(|f| entries.iter().any(|(k, _)| k == f.name))
        .map(|f| f.name)
        .collect();
    let first: Vec<&str> = entries
        .iter()
        .take(expected.len())
        .map(|(k, _)| k.as_str())
        .collect();
    if first != expected {
        return Err(format!(
            "first keys are {first:?}, not {expected:?}: {line}"
        ));
    }
    if let Some(Value::Object(labels)) = lookup(&entries, "labels") {
        if let Some(bad) = labels.keys().find(|k| k.contains(['.', '*', '\\'])) {
            return Err(format!("label key `{bad}` is not de-dotted: {line}"));
        }
    }
    for (k, _) in &entries {
        let mut prefix = String::new();
        for part in k
            .split('.')
            .collect::<Vec<_>>()
            .split_last()
            .map_or(&[][..], |(_, p)| p)
        {
            if !prefix.is_empty() {
                prefix.push('.');
            }
            prefix.push_str(part);
            if let Some((_, v)) = entries.iter().find(|(k2, _)| *k2 == prefix) {
                if !v.is_object() {
                    return Err(format!(
                        "`{prefix}` is a value and a prefix of `{k}`: {line}"
                    ));
                }
            }
        }
    }
    Ok(entries)
}
