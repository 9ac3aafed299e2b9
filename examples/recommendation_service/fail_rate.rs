//! Fault injection for exercising error alerts: `--fail-rate F` makes a share `F` of valid
//! `POST /recommend` requests answer `500 Internal Server Error`.
//!
//! Deterministic, with no random numbers: request `i` (counted from 0) fails when
//! `⌊(i + 1)·F⌋ > ⌊i·F⌋`, so exactly `⌊N·F⌋` of the first `N` requests fail, spread evenly
//! (with `0.3`, three of every ten). Off (`0`) by default.

use std::sync::atomic::{AtomicU64, Ordering};

/// Decides which requests fail.
pub struct FailRate {
    rate: f64,
    seen: AtomicU64,
}

impl FailRate {
    /// `rate` must be within `0..=1`.
    pub fn new(rate: f64) -> Result<Self, String> {
        if !(0.0..=1.0).contains(&rate) {
            return Err(format!("--fail-rate must be between 0 and 1, got {rate}"));
        }
        Ok(Self {
            rate,
            seen: AtomicU64::new(0),
        })
    }

    /// Whether the next request fails.
    pub fn next_fails(&self) -> bool {
        if self.rate == 0.0 {
            return false;
        }
        let i = self.seen.fetch_add(1, Ordering::Relaxed) as f64;
        ((i + 1.0) * self.rate).floor() > (i * self.rate).floor()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_share_fails() {
        let faults = FailRate::new(0.3).unwrap();
        let failed = (0..1000).filter(|_| faults.next_fails()).count();
        assert_eq!(failed, 300);
        let none = FailRate::new(0.0).unwrap();
        assert!((0..100).all(|_| !none.next_fails()));
        let all = FailRate::new(1.0).unwrap();
        assert!((0..100).all(|_| all.next_fails()));
        assert!(FailRate::new(1.5).is_err());
        assert!(FailRate::new(f64::NAN).is_err());
    }
}
