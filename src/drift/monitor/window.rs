//! Recorded rows and the window of recent ones.

use polars::prelude::*;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// One recorded feature value.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FeatureValue {
    /// Missing.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string (a category).
    Str(String),
}

impl From<f64> for FeatureValue {
    fn from(v: f64) -> Self {
        FeatureValue::Float(v)
    }
}
impl From<f32> for FeatureValue {
    fn from(v: f32) -> Self {
        FeatureValue::Float(v as f64)
    }
}
impl From<i64> for FeatureValue {
    fn from(v: i64) -> Self {
        FeatureValue::Int(v)
    }
}
impl From<i32> for FeatureValue {
    fn from(v: i32) -> Self {
        FeatureValue::Int(v as i64)
    }
}
impl From<u32> for FeatureValue {
    fn from(v: u32) -> Self {
        FeatureValue::Int(v as i64)
    }
}
impl From<usize> for FeatureValue {
    fn from(v: usize) -> Self {
        FeatureValue::Int(v as i64)
    }
}
impl From<bool> for FeatureValue {
    fn from(v: bool) -> Self {
        FeatureValue::Bool(v)
    }
}
impl From<&str> for FeatureValue {
    fn from(v: &str) -> Self {
        FeatureValue::Str(v.to_string())
    }
}
impl From<String> for FeatureValue {
    fn from(v: String) -> Self {
        FeatureValue::Str(v)
    }
}
impl<T: Into<FeatureValue>> From<Option<T>> for FeatureValue {
    fn from(v: Option<T>) -> Self {
        v.map_or(FeatureValue::Null, Into::into)
    }
}

impl FeatureValue {
    fn as_f64(&self) -> Option<f64> {
        match self {
            FeatureValue::Float(v) => Some(*v),
            FeatureValue::Int(v) => Some(*v as f64),
            FeatureValue::Bool(b) => Some(f64::from(u8::from(*b))),
            FeatureValue::Str(s) => s.parse().ok(),
            FeatureValue::Null => None,
        }
    }
    fn as_string(&self) -> Option<String> {
        match self {
            FeatureValue::Str(s) => Some(s.clone()),
            FeatureValue::Int(v) => Some(v.to_string()),
            FeatureValue::Float(v) => Some(v.to_string()),
            FeatureValue::Bool(b) => Some(if *b { "True" } else { "False" }.into()),
            FeatureValue::Null => None,
        }
    }
}

/// Which recent rows a drift check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Window {
    /// The last N rows recorded.
    Rows(usize),
    /// The rows recorded in the last D.
    Duration(Duration),
}

pub(crate) struct RowWindow {
    window: Window,
    rows: VecDeque<(Instant, Vec<FeatureValue>)>,
}

impl RowWindow {
    pub fn new(window: Window) -> Self {
        RowWindow {
            window,
            rows: VecDeque::new(),
        }
    }

    pub fn push(&mut self, row: Vec<FeatureValue>) {
        self.rows.push_back((Instant::now(), row));
        if let Window::Rows(n) = self.window {
            while self.rows.len() > n {
                self.rows.pop_front();
            }
        }
    }

    pub fn expire(&mut self) {
        if let Window::Duration(d) = self.window {
            let now = Instant::now();
            while self
                .rows
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) > d)
            {
                self.rows.pop_front();
            }
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// The window as a frame with the reference's columns and dtypes.
    pub fn to_frame(&self, schema: &[(String, DataType)]) -> PolarsResult<DataFrame> {
        let mut cols = Vec::with_capacity(schema.len());
        for (i, (name, dtype)) in schema.iter().enumerate() {
            let values = self.rows.iter().map(|(_, r)| &r[i]);
            let s = if dtype.is_bool() {
                let v: Vec<Option<bool>> = values
                    .map(|v| match v {
                        FeatureValue::Bool(b) => Some(*b),
                        other => other.as_f64().map(|x| x != 0.0),
                    })
                    .collect();
                Series::new(name.as_str().into(), v)
            } else if dtype.is_primitive_numeric() {
                let v: Vec<Option<f64>> = values.map(FeatureValue::as_f64).collect();
                Series::new(name.as_str().into(), v).cast(dtype)?
            } else {
                let v: Vec<Option<String>> = values.map(FeatureValue::as_string).collect();
                let s = Series::new(name.as_str().into(), v);
                if dtype.is_string() {
                    s
                } else {
                    s.cast(dtype)?
                }
            };
            cols.push(s.into_column());
        }
        DataFrame::new(self.rows.len(), cols)
    }
}
