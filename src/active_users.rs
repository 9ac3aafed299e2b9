//! `recommendation_active_users`: distinct users seen in a sliding window.
//!
//! # Method
//!
//! The window (default 5 minutes) is cut into [`SLICES`] equal slices, each holding a
//! HyperLogLog sketch with 2<sup>14</sup> one-byte registers (Flajolet et al., 2007, with the
//! linear-counting correction for small counts). A user id is hashed once; recording is one
//! atomic `fetch_max` on one register of the current slice, with no lock and no allocation, so
//! it stays cheap at any request rate and from any number of threads. The estimate is the
//! HyperLogLog of the register-wise maximum over the slices inside the window.
//!
//! Memory is fixed: `SLICES × 16384` bytes (160 KiB), whatever the number of users.
//!
//! # Error
//!
//! - Counting error: relative standard error 1.04/√16384 ≈ 0.8 %. Below about 40,000 users
//!   linear counting is used, whose error is smaller still (about half a user at 100 users).
//! - Window granularity: the window slides by whole slices, so a user is counted for between
//!   `window − window/SLICES` and `window` after their last request (4 m 30 s to 5 min with the
//!   defaults).
//! - A user recorded at the exact moment its slice is being recycled may be missed once; the
//!   next request counts them again.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use recwatch::active_users::ActiveUsers;
//!
//! let users = ActiveUsers::new(Duration::from_secs(300));
//! for id in [7_u64, 42, 7, 1001] {
//!     users.observe(id);
//! }
//! users.observe_str("anonymous-session-3f2a");
//! assert_eq!(users.estimate().round(), 4.0);
//! users.publish(); // sets the `recommendation_active_users` gauge
//! ```

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use metrics::Gauge;

use crate::catalogue;

/// Number of slices the window is cut into.
pub const SLICES: usize = 10;
const P: u32 = 14;
const M: usize = 1 << P;

/// Default sliding window: 5 minutes.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(300);

struct Slice {
    /// Slice number + 1 of the data held; 0 when empty.
    stamp: AtomicU64,
    registers: Box<[AtomicU8]>,
}

struct Inner {
    epoch: Instant,
    slice_ms: u64,
    slices: Box<[Slice]>,
    recycle: Mutex<()>,
    gauge: Gauge,
}

/// Sliding-window distinct-user counter. Cheap to clone; clones share the state.
///
/// The `recommendation_active_users` gauge handle is resolved when the tracker is created, so
/// create it after installing the exporter. Call [`publish`](Self::publish) to update the gauge,
/// typically from a collector run at scrape time:
///
/// ```
/// use recwatch::active_users::ActiveUsers;
///
/// let (_recorder, metrics) = recwatch::exporter::ExporterBuilder::new().build();
/// let users = ActiveUsers::default();
/// let publisher = users.clone();
/// metrics.add_collector(move || publisher.publish());
/// ```
#[derive(Clone)]
pub struct ActiveUsers {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ActiveUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveUsers")
            .field("window_ms", &(self.inner.slice_ms * SLICES as u64))
            .finish_non_exhaustive()
    }
}

impl Default for ActiveUsers {
    fn default() -> Self {
        Self::new(DEFAULT_WINDOW)
    }
}

/// SplitMix64 finaliser: spreads sequential ids over all 64 bits.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl ActiveUsers {
    /// A tracker over a sliding `window` (rounded up to a whole number of milliseconds per
    /// slice; at least [`SLICES`] ms).
    pub fn new(window: Duration) -> Self {
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX / 2);
        let slice_ms = window_ms.div_ceil(SLICES as u64).max(1);
        let slices = (0..SLICES)
            .map(|_| Slice {
                stamp: AtomicU64::new(0),
                registers: (0..M).map(|_| AtomicU8::new(0)).collect(),
            })
            .collect();
        Self {
            inner: Arc::new(Inner {
                epoch: Instant::now(),
                slice_ms,
                slices,
                recycle: Mutex::new(()),
                gauge: metrics::gauge!(catalogue::ACTIVE_USERS.name),
            }),
        }
    }

    fn now_slice(&self) -> u64 {
        let ms = u64::try_from(self.inner.epoch.elapsed().as_millis()).unwrap_or(u64::MAX / 2);
        ms / self.inner.slice_ms
    }

    /// Records that user `id` was active now.
    pub fn observe(&self, id: u64) {
        self.observe_hash_at(mix64(id), self.now_slice());
    }

    /// Records that the user with string id `id` was active now.
    pub fn observe_str(&self, id: &str) {
        // SipHash with the standard library's fixed keys: stable within the process.
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        id.hash(&mut hasher);
        self.observe_hash_at(mix64(hasher.finish()), self.now_slice());
    }

    fn observe_hash_at(&self, hash: u64, now: u64) {
        let slice = &self.inner.slices[(now % SLICES as u64) as usize];
        if slice.stamp.load(Ordering::Acquire) != now + 1 {
            self.recycle(slice, now);
        }
        let index = (hash >> (64 - P)) as usize;
        // Rank of the first set bit in the remaining 52 bits (1-based), capped by a sentinel bit.
        let rest = (hash << P) | (1 << (P - 1));
        let rank = rest.leading_zeros() as u8 + 1;
        slice.registers[index].fetch_max(rank, Ordering::Relaxed);
    }

    fn recycle(&self, slice: &Slice, now: u64) {
        let _guard = self.inner.recycle.lock().unwrap_or_else(|p| p.into_inner());
        let stamp = slice.stamp.load(Ordering::Acquire);
        if stamp > now {
            return; // recycled meanwhile (or a newer slice already lives here)
        }
        for r in slice.registers.iter() {
            r.store(0, Ordering::Relaxed);
        }
        slice.stamp.store(now + 1, Ordering::Release);
    }

    /// Estimated number of distinct users seen in the window.
    pub fn estimate(&self) -> f64 {
        self.estimate_at(self.now_slice())
    }

    fn estimate_at(&self, now: u64) -> f64 {
        let oldest = (now + 1).saturating_sub(SLICES as u64 - 1);
        let live: Vec<&Slice> = self
            .inner
            .slices
            .iter()
            .filter(|s| {
                let stamp = s.stamp.load(Ordering::Acquire);
                stamp >= oldest && stamp <= now + 1 && stamp != 0
            })
            .collect();
        let mut sum = 0.0;
        let mut zeros = 0usize;
        for j in 0..M {
            let max = live
                .iter()
                .map(|s| s.registers[j].load(Ordering::Relaxed))
                .max()
                .unwrap_or(0);
            if max == 0 {
                zeros += 1;
            }
            sum += 2f64.powi(-i32::from(max));
        }
        let m = M as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let raw = alpha * m * m / sum;
        if raw <= 2.5 * m && zeros > 0 {
            m * (m / zeros as f64).ln()
        } else {
            raw
        }
    }

    /// Sets the `recommendation_active_users` gauge to the current estimate, rounded to a whole user.
    pub fn publish(&self) {
        self.inner.gauge.set(self.estimate().round());
    }

    /// The sliding window length, as configured (after rounding).
    pub fn window(&self) -> Duration {
        Duration::from_millis(self.inner.slice_ms * SLICES as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_zero_and_small_counts_are_near_exact() {
        let users = ActiveUsers::new(Duration::from_secs(60));
        assert_eq!(users.estimate(), 0.0);
        for id in 0..100u64 {
            users.observe(id);
            users.observe(id); // repeats do not count
        }
        let e = users.estimate();
        assert!((e - 100.0).abs() <= 2.0, "{e}");
    }

    #[test]
    fn large_counts_within_four_standard_errors() {
        let users = ActiveUsers::new(Duration::from_secs(60));
        let n = 200_000u64;
        for id in 0..n {
            users.observe(id * 7919 + 13);
        }
        let e = users.estimate();
        let rel = (e - n as f64).abs() / n as f64;
        assert!(
            rel < 4.0 * 0.0082,
            "estimate {e} for {n}: relative error {rel}"
        );
    }

    #[test]
    fn users_leave_the_window() {
        let users = ActiveUsers::new(Duration::from_secs(10)); // 1 s slices
        for id in 0..50u64 {
            users.observe_hash_at(mix64(id), 0);
        }
        for id in 50..80u64 {
            users.observe_hash_at(mix64(id), 5);
        }
        assert!((users.estimate_at(5) - 80.0).abs() <= 2.0);
        assert!((users.estimate_at(9) - 80.0).abs() <= 2.0);
        // At slice 10 the slice-0 users are out of the window.
        assert!(
            (users.estimate_at(10) - 30.0).abs() <= 1.5,
            "{}",
            users.estimate_at(10)
        );
        assert_eq!(users.estimate_at(15), 0.0);
        // Slot 0 is recycled for slice 10 and holds only the new users.
        users.observe_hash_at(mix64(999), 10);
        assert!((users.estimate_at(10) - 31.0).abs() <= 1.5);
    }

    #[test]
    fn concurrent_updates() {
        let users = ActiveUsers::new(Duration::from_secs(60));
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let users = users.clone();
                s.spawn(move || {
                    for id in 0..1000u64 {
                        users.observe(t * 1000 + id);
                    }
                });
            }
        });
        let e = users.estimate();
        assert!((e - 4000.0).abs() / 4000.0 < 0.05, "{e}");
    }

    #[test]
    fn publish_sets_the_gauge() {
        let recorder = metrics_util::debugging::DebuggingRecorder::new();
        let snap = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            let users = ActiveUsers::default();
            users.observe_str("alice");
            users.observe_str("bob");
            users.publish();
        });
        let found = snap
            .snapshot()
            .into_vec()
            .into_iter()
            .find_map(|(k, _, _, v)| (k.key().name() == catalogue::ACTIVE_USERS.name).then_some(v));
        match found {
            Some(metrics_util::debugging::DebugValue::Gauge(g)) => {
                assert_eq!(g.into_inner().round(), 2.0)
            }
            other => panic!("gauge missing: {other:?}"),
        }
    }
}
