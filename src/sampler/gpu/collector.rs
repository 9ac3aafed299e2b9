//! The per-epoch collector: drives a [`GpuBackend`] and publishes its readings.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use metrics::Label;

use super::types::{
    GpuAvailability, GpuBackend, GpuDevice, GpuErrorKind, GpuFastReadings, GpuField, GpuProcess,
    GpuSlowReadings,
};
use crate::catalogue;

/// Per-device state within an epoch.
struct DeviceState {
    device: GpuDevice,
    labels: Vec<Label>,
    /// Cached slow readings, republished every tick so the series stay fresh.
    slow: Option<GpuSlowReadings>,
}

enum Epoch {
    /// Not initialised; next attempt at the instant.
    Down { next_attempt: Instant },
    /// Initialised with these devices (possibly none).
    Up { devices: Vec<DeviceState> },
}

/// Drives a [`GpuBackend`] through epochs and publishes its metrics.
pub(crate) struct GpuCollector {
    backend: Box<dyn GpuBackend>,
    epoch: Epoch,
    availability: GpuAvailability,
    /// The availability series published last tick, to zero it when the reason changes.
    published_reason: Option<GpuAvailability>,
    backoff: Duration,
    initial_backoff: Duration,
    max_backoff: Duration,
    own_pids: HashSet<u32>,
    /// Errors since the last tick took them.
    pub(crate) errors: u64,
}

impl GpuCollector {
    pub(crate) fn new(
        backend: Box<dyn GpuBackend>,
        initial_backoff: Duration,
        max_backoff: Duration,
        own_pids: HashSet<u32>,
        now: Instant,
    ) -> Self {
        GpuCollector {
            backend,
            epoch: Epoch::Down { next_attempt: now },
            availability: GpuAvailability::Error,
            published_reason: None,
            backoff: initial_backoff,
            initial_backoff,
            max_backoff,
            own_pids,
            errors: 0,
        }
    }

    /// The current availability.
    pub(crate) fn availability(&self) -> GpuAvailability {
        self.availability
    }

    fn schedule_retry(&mut self, now: Instant) {
        self.epoch = Epoch::Down {
            next_attempt: now + self.backoff,
        };
        self.backoff = (self.backoff * 2).min(self.max_backoff);
    }

    fn try_init(&mut self, now: Instant) {
        match self.backend.init() {
            Ok(devices) if devices.is_empty() => {
                self.availability = GpuAvailability::NoDevices;
                self.backend.shutdown();
                self.schedule_retry(now);
            }
            Ok(devices) => {
                self.availability = GpuAvailability::Ok;
                self.backoff = self.initial_backoff;
                let devices = devices
                    .into_iter()
                    .map(|device| DeviceState {
                        labels: vec![
                            Label::new("gpu", device.index.to_string()),
                            Label::new("uuid", device.uuid.clone()),
                            Label::new("name", device.name.clone()),
                        ],
                        device,
                        slow: None,
                    })
                    .collect();
                self.epoch = Epoch::Up { devices };
            }
            Err(err) => {
                let kind = err.gpu_kind().unwrap_or(GpuErrorKind::Other);
                self.availability = kind.reason();
                // A machine without GPU, driver or permission is a state, not an error.
                if self.availability == GpuAvailability::Error {
                    self.errors += 1;
                }
                self.backend.shutdown();
                self.schedule_retry(now);
            }
        }
    }

    /// One tick: (re)initialise if due, read and publish.
    pub(crate) fn tick(&mut self, now: Instant, slow: bool) {
        if let Epoch::Down { next_attempt } = self.epoch {
            if now >= next_attempt {
                self.try_init(now);
            }
        }
        let mut lost = false;
        if let Epoch::Up { devices } = &mut self.epoch {
            for state in devices.iter_mut() {
                let fast = self.backend.read_fast(&state.device);
                if let Some(kind) = lifecycle_error_fast(&fast) {
                    self.availability = kind.reason();
                    lost = true;
                    break;
                }
                let slow_now = slow || state.slow.is_none();
                if slow_now {
                    let readings = self.backend.read_slow(&state.device);
                    if let Some(kind) = lifecycle_error_slow(&readings) {
                        self.availability = kind.reason();
                        lost = true;
                        break;
                    }
                    self.errors += count_unexpected_slow(&readings);
                    state.slow = Some(readings);
                }
                self.errors += count_unexpected_fast(&fast);
                publish_device(state, &fast, &self.own_pids);
            }
        }
        if lost {
            self.errors += 1;
            self.backend.shutdown();
            // The first retry is immediate-ish (after the initial backoff).
            self.backoff = self.initial_backoff;
            self.schedule_retry(now);
        }
        self.publish_availability();
    }

    fn publish_availability(&mut self) {
        let reason = self.availability;
        if let Some(prev) = self.published_reason {
            if prev != reason && prev == GpuAvailability::Ok {
                // The old `ok` series would otherwise keep saying 1 until it idles out.
                metrics::gauge!(catalogue::GPU_SAMPLER_AVAILABLE.name, catalogue::GPU_SAMPLER_AVAILABLE.labels[0] => prev.as_str()).set(0.0);
            }
        }
        let value = if reason == GpuAvailability::Ok {
            1.0
        } else {
            0.0
        };
        metrics::gauge!(catalogue::GPU_SAMPLER_AVAILABLE.name, catalogue::GPU_SAMPLER_AVAILABLE.labels[0] => reason.as_str()).set(value);
        self.published_reason = Some(reason);
    }
}

impl Drop for GpuCollector {
    fn drop(&mut self) {
        if matches!(self.epoch, Epoch::Up { .. }) {
            self.backend.shutdown();
        }
    }
}

fn lifecycle<T>(field: &GpuField<T>) -> Option<GpuErrorKind> {
    match field {
        Err(kind) if kind.is_lifecycle() => Some(*kind),
        _ => None,
    }
}

fn unexpected<T>(field: &GpuField<T>) -> u64 {
    match field {
        Err(kind) if !kind.is_expected_absence() => 1,
        _ => 0,
    }
}

fn lifecycle_error_fast(r: &GpuFastReadings) -> Option<GpuErrorKind> {
    lifecycle(&r.utilization_percent)
        .or_else(|| lifecycle(&r.memory_used_bytes))
        .or_else(|| lifecycle(&r.memory_total_bytes))
        .or_else(|| lifecycle(&r.power_milliwatts))
}

fn lifecycle_error_slow(r: &GpuSlowReadings) -> Option<GpuErrorKind> {
    lifecycle(&r.temperature_celsius)
        .or_else(|| lifecycle(&r.energy_millijoules))
        .or_else(|| lifecycle(&r.processes))
}

fn count_unexpected_fast(r: &GpuFastReadings) -> u64 {
    unexpected(&r.utilization_percent)
        + unexpected(&r.memory_used_bytes)
        + unexpected(&r.memory_total_bytes)
        + unexpected(&r.power_milliwatts)
}

fn count_unexpected_slow(r: &GpuSlowReadings) -> u64 {
    unexpected(&r.temperature_celsius)
        + unexpected(&r.energy_millijoules)
        + unexpected(&r.processes)
}

fn set(name: &'static str, labels: &[Label], value: f64) {
    metrics::gauge!(name, labels.iter()).set(value);
}

fn publish_device(state: &DeviceState, fast: &GpuFastReadings, own_pids: &HashSet<u32>) {
    let labels = &state.labels;
    if let Ok(util) = fast.utilization_percent {
        set(catalogue::GPU_USAGE_PERCENT.name, labels, f64::from(util));
    }
    if let Ok(used) = fast.memory_used_bytes {
        set(catalogue::GPU_MEMORY_USED_BYTES.name, labels, used as f64);
    }
    if let Ok(total) = fast.memory_total_bytes {
        set(catalogue::GPU_MEMORY_TOTAL_BYTES.name, labels, total as f64);
        if let Ok(used) = fast.memory_used_bytes {
            if total > 0 {
                set(
                    catalogue::GPU_MEMORY_USAGE_PERCENT.name,
                    labels,
                    used as f64 / total as f64 * 100.0,
                );
            }
        }
    }
    if let Ok(mw) = fast.power_milliwatts {
        set(
            catalogue::GPU_POWER_WATTS.name,
            labels,
            f64::from(mw) / 1000.0,
        );
    }
    if let Some(slow) = &state.slow {
        if let Ok(t) = slow.temperature_celsius {
            set(
                catalogue::GPU_TEMPERATURE_CELSIUS.name,
                labels,
                f64::from(t),
            );
        }
        if let Ok(mj) = slow.energy_millijoules {
            set(
                catalogue::GPU_ENERGY_JOULES_TOTAL.name,
                labels,
                mj as f64 / 1000.0,
            );
        }
        if let Ok(processes) = &slow.processes {
            set(
                catalogue::GPU_PROCESS_MEMORY_USED_BYTES.name,
                labels,
                own_gpu_memory(processes, own_pids) as f64,
            );
        }
    }
}

/// This process's GPU memory: the entries whose pid is one of ours, each pid counted once
/// (compute and graphics lists can both name it).
fn own_gpu_memory(processes: &[GpuProcess], own_pids: &HashSet<u32>) -> u64 {
    let mut seen: Vec<(u32, u64)> = Vec::new();
    for p in processes.iter().filter(|p| own_pids.contains(&p.pid)) {
        let bytes = p.used_memory_bytes.unwrap_or(0);
        match seen.iter_mut().find(|(pid, _)| *pid == p.pid) {
            Some((_, b)) => *b = (*b).max(bytes),
            None => seen.push((p.pid, bytes)),
        }
    }
    seen.iter().map(|(_, b)| b).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_memory_counts_each_pid_once() {
        let own: HashSet<u32> = [10, 20].into_iter().collect();
        let list = [
            GpuProcess {
                pid: 10,
                used_memory_bytes: Some(100),
            },
            GpuProcess {
                pid: 10,
                used_memory_bytes: Some(100),
            },
            GpuProcess {
                pid: 20,
                used_memory_bytes: Some(5),
            },
            GpuProcess {
                pid: 30,
                used_memory_bytes: Some(1000),
            },
        ];
        assert_eq!(own_gpu_memory(&list, &own), 105);
        assert_eq!(own_gpu_memory(&[], &own), 0);
    }

    #[test]
    fn reasons() {
        assert_eq!(
            GpuErrorKind::LibraryMissing.reason(),
            GpuAvailability::LibraryMissing
        );
        assert_eq!(GpuErrorKind::GpuLost.reason(), GpuAvailability::Error);
        assert_eq!(
            GpuErrorKind::NoPermission.reason(),
            GpuAvailability::NoPermission
        );
    }
}
