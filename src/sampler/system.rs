//! System CPU and memory through `sysinfo` (default features off: no NVML, no process table).
//!
//! | name | type | tier |
//! |---|---|---|
//! | `system_cpu_usage_percent` | gauge, 0–100 | fast, from the 2nd reading on |
//! | `system_memory_usage_percent` | gauge, 0–100 | fast |
//! | `system_memory_used_bytes` | gauge | fast |
//! | `system_memory_total_bytes` | gauge | fast |
//!
//! CPU usage is the change of the CPU counters between two refreshes, so the first refresh has
//! nothing to compare with and is never published; refreshes closer together than
//! [`sysinfo::MINIMUM_CPU_UPDATE_INTERVAL`] are skipped (the previous value stays).

use crate::catalogue;
use std::time::Instant;

use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

/// Reads and publishes system CPU and memory.
pub(crate) struct SystemCollector {
    sys: System,
    /// When the CPU counters were last refreshed (the baseline of the next reading).
    last_cpu_refresh: Instant,
}

impl SystemCollector {
    /// Takes the baseline CPU reading (not published).
    pub(crate) fn new(now: Instant) -> Self {
        let sys = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing().with_cpu_usage())
                .with_memory(MemoryRefreshKind::nothing().with_ram()),
        );
        SystemCollector {
            sys,
            last_cpu_refresh: now,
        }
    }

    /// Refreshes and publishes. Returns the number of errors.
    pub(crate) fn tick(&mut self, now: Instant) -> u64 {
        let mut errors = 0;
        if now.saturating_duration_since(self.last_cpu_refresh)
            >= sysinfo::MINIMUM_CPU_UPDATE_INTERVAL
        {
            self.sys.refresh_cpu_usage();
            self.last_cpu_refresh = now;
            let cpu = f64::from(self.sys.global_cpu_usage());
            if cpu.is_finite() && !self.sys.cpus().is_empty() {
                metrics::gauge!(catalogue::SYSTEM_CPU_USAGE_PERCENT.name)
                    .set(cpu.clamp(0.0, 100.0));
            } else {
                errors += 1;
            }
        }
        self.sys
            .refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        let total = self.sys.total_memory();
        let used = self.sys.used_memory();
        if total > 0 {
            metrics::gauge!(catalogue::SYSTEM_MEMORY_TOTAL_BYTES.name).set(total as f64);
            metrics::gauge!(catalogue::SYSTEM_MEMORY_USED_BYTES.name).set(used as f64);
            metrics::gauge!(catalogue::SYSTEM_MEMORY_USAGE_PERCENT.name)
                .set((used as f64 / total as f64 * 100.0).clamp(0.0, 100.0));
        } else {
            errors += 1;
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_util::debugging::DebuggingRecorder;

    fn names(f: impl FnOnce()) -> Vec<String> {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, f);
        snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(k, ..)| k.key().name().to_owned())
            .collect()
    }

    #[test]
    fn first_cpu_reading_is_never_published() {
        let now = Instant::now();
        let mut c = SystemCollector::new(now);
        // Same instant as the baseline: below the minimum interval on every platform with one.
        let published = names(|| {
            c.tick(now);
        });
        if sysinfo::MINIMUM_CPU_UPDATE_INTERVAL > std::time::Duration::ZERO {
            assert!(!published.iter().any(|n| n == "system_cpu_usage_percent"));
        }
        assert!(published.iter().any(|n| n == "system_memory_usage_percent"));
        let later = now + sysinfo::MINIMUM_CPU_UPDATE_INTERVAL;
        let published = names(|| {
            c.tick(later);
        });
        assert!(published.iter().any(|n| n == "system_cpu_usage_percent"));
    }
}
