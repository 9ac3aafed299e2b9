//! GPU sampling: the [`GpuBackend`] trait, the NVML backend and the per-epoch collector.
//!
//! The collector initialises its backend once per *epoch* on the sampler thread. Identity
//! (`gpu` index, `uuid`, `name`) is read once per epoch; fast fields every tick; slow fields
//! (temperature, energy, per-process memory) every few ticks. A lifecycle error (GPU lost,
//! driver not loaded, library/driver version mismatch, uninitialised) ends the epoch: the
//! backend is shut down and initialised again after an exponential backoff.

use std::collections::HashSet;
use std::fmt;
use std::time::{Duration, Instant};

use metrics::Label;

use super::SamplerError;

/// What kind of failure a GPU backend reported. Decides how the sampler reacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GpuErrorKind {
    /// The GPU management library (`libnvidia-ml.so.1`) could not be loaded.
    LibraryMissing,
    /// The library loaded, but the kernel driver is not running.
    DriverNotLoaded,
    /// The process may not talk to the driver or read this field.
    NoPermission,
    /// The device does not support this field. The metric is left absent, never 0.
    NotSupported,
    /// The device has no data for this field yet. The metric is left absent.
    NoData,
    /// The GPU fell off the bus or needs a reset.
    GpuLost,
    /// The user-space library and the kernel driver have different versions.
    VersionMismatch,
    /// The library was used before initialisation or after shutdown.
    Uninitialized,
    /// Any other failure.
    Other,
}

impl GpuErrorKind {
    /// Whether this error ends the current epoch and triggers re-initialisation with backoff.
    ///
    /// ```
    /// use recwatch::sampler::GpuErrorKind;
    ///
    /// assert!(GpuErrorKind::GpuLost.is_lifecycle());
    /// assert!(!GpuErrorKind::NotSupported.is_lifecycle());
    /// ```
    pub fn is_lifecycle(self) -> bool {
        matches!(
            self,
            GpuErrorKind::LibraryMissing
                | GpuErrorKind::DriverNotLoaded
                | GpuErrorKind::GpuLost
                | GpuErrorKind::VersionMismatch
                | GpuErrorKind::Uninitialized
        )
    }

    /// Whether a field failing with this kind is an expected absence (not counted as an error).
    fn is_expected_absence(self) -> bool {
        matches!(
            self,
            GpuErrorKind::NotSupported | GpuErrorKind::NoData | GpuErrorKind::NoPermission
        )
    }

    /// The `reason` label of `gpu_sampler_available` for an initialisation failing this way.
    fn reason(self) -> GpuAvailability {
        match self {
            GpuErrorKind::LibraryMissing => GpuAvailability::LibraryMissing,
            GpuErrorKind::DriverNotLoaded => GpuAvailability::DriverNotLoaded,
            GpuErrorKind::NoPermission => GpuAvailability::NoPermission,
            _ => GpuAvailability::Error,
        }
    }
}

impl fmt::Display for GpuErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GpuErrorKind::LibraryMissing => "library missing",
            GpuErrorKind::DriverNotLoaded => "driver not loaded",
            GpuErrorKind::NoPermission => "no permission",
            GpuErrorKind::NotSupported => "not supported",
            GpuErrorKind::NoData => "no data",
            GpuErrorKind::GpuLost => "GPU lost",
            GpuErrorKind::VersionMismatch => "library/driver version mismatch",
            GpuErrorKind::Uninitialized => "uninitialised",
            GpuErrorKind::Other => "other error",
        })
    }
}

/// The value of the `reason` label of `gpu_sampler_available`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GpuAvailability {
    /// GPUs are sampled (`gpu_sampler_available{reason="ok"} 1`).
    Ok,
    /// The GPU library could not be loaded.
    LibraryMissing,
    /// The GPU driver is not loaded.
    DriverNotLoaded,
    /// No permission to talk to the driver.
    NoPermission,
    /// The library initialised but found no devices.
    NoDevices,
    /// Any other failure, including a GPU lost mid-run while re-initialisation is pending.
    Error,
}

impl GpuAvailability {
    /// The label value: `ok`, `library_missing`, `driver_not_loaded`, `no_permission`,
    /// `no_devices` or `error`.
    ///
    /// ```
    /// use recwatch::sampler::GpuAvailability;
    ///
    /// assert_eq!(GpuAvailability::LibraryMissing.as_str(), "library_missing");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            GpuAvailability::Ok => "ok",
            GpuAvailability::LibraryMissing => "library_missing",
            GpuAvailability::DriverNotLoaded => "driver_not_loaded",
            GpuAvailability::NoPermission => "no_permission",
            GpuAvailability::NoDevices => "no_devices",
            GpuAvailability::Error => "error",
        }
    }
}

/// Identity of one GPU, read once per epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuDevice {
    /// The device index (the `gpu` label).
    pub index: u32,
    /// The device UUID (the `uuid` label).
    pub uuid: String,
    /// The product name (the `name` label).
    pub name: String,
}

impl GpuDevice {
    /// A device with the given identity.
    ///
    /// ```
    /// use recwatch::sampler::GpuDevice;
    ///
    /// let dev = GpuDevice::new(0, "GPU-0000", "NVIDIA H100");
    /// assert_eq!(dev.index, 0);
    /// ```
    pub fn new(index: u32, uuid: impl Into<String>, name: impl Into<String>) -> Self {
        GpuDevice {
            index,
            uuid: uuid.into(),
            name: name.into(),
        }
    }
}

/// One reading of a field: the value, or why it is unavailable.
pub type GpuField<T> = Result<T, GpuErrorKind>;

/// Fields read every tick. Every field defaults to `Err(GpuErrorKind::NotSupported)`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GpuFastReadings {
    /// Percent of time a kernel was running (0–100).
    pub utilization_percent: GpuField<u32>,
    /// Used device memory in bytes.
    pub memory_used_bytes: GpuField<u64>,
    /// Total device memory in bytes.
    pub memory_total_bytes: GpuField<u64>,
    /// Power draw in milliwatts.
    pub power_milliwatts: GpuField<u32>,
}

impl Default for GpuFastReadings {
    fn default() -> Self {
        GpuFastReadings {
            utilization_percent: Err(GpuErrorKind::NotSupported),
            memory_used_bytes: Err(GpuErrorKind::NotSupported),
            memory_total_bytes: Err(GpuErrorKind::NotSupported),
            power_milliwatts: Err(GpuErrorKind::NotSupported),
        }
    }
}

/// One process using a GPU, as listed by the backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuProcess {
    /// The process id as the driver sees it (usually the host pid).
    pub pid: u32,
    /// GPU memory used by the process, if the driver reports it.
    pub used_memory_bytes: Option<u64>,
}

/// Fields read every few ticks. Every field defaults to `Err(GpuErrorKind::NotSupported)`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct GpuSlowReadings {
    /// GPU core temperature in degrees Celsius.
    pub temperature_celsius: GpuField<u32>,
    /// Energy used since the driver was loaded, in millijoules.
    pub energy_millijoules: GpuField<u64>,
    /// Processes running on the device (compute and graphics).
    pub processes: GpuField<Vec<GpuProcess>>,
}

impl Default for GpuSlowReadings {
    fn default() -> Self {
        GpuSlowReadings {
            temperature_celsius: Err(GpuErrorKind::NotSupported),
            energy_millijoules: Err(GpuErrorKind::NotSupported),
            processes: Err(GpuErrorKind::NotSupported),
        }
    }
}

/// A source of GPU readings: NVML ([`NvmlBackend`], feature `nvml`) or anything else, such as a
/// scripted fake in tests.
///
/// All methods are called on the sampler thread only.
///
/// ```
/// use recwatch::sampler::{
///     GpuBackend, GpuDevice, GpuErrorKind, GpuFastReadings, GpuSlowReadings, SamplerError,
/// };
///
/// /// A machine with one GPU that only reports utilisation.
/// struct OneGpu;
///
/// impl GpuBackend for OneGpu {
///     fn init(&mut self) -> Result<Vec<GpuDevice>, SamplerError> {
///         Ok(vec![GpuDevice::new(0, "GPU-1234", "Fake GPU")])
///     }
///     fn read_fast(&mut self, _device: &GpuDevice) -> GpuFastReadings {
///         let mut r = GpuFastReadings::default();
///         r.utilization_percent = Ok(42);
///         r
///     }
///     fn read_slow(&mut self, _device: &GpuDevice) -> GpuSlowReadings {
///         GpuSlowReadings::default()
///     }
/// }
///
/// let sampler = recwatch::sampler::SamplerBuilder::new()
///     .with_gpu_backend(OneGpu)
///     .build();
/// # drop(sampler);
/// ```
///
/// [`NvmlBackend`]: https://docs.rs/recwatch/latest/recwatch/sampler/struct.NvmlBackend.html
pub trait GpuBackend: Send + 'static {
    /// Starts an epoch: loads/initialises the library and returns the devices' identities.
    ///
    /// An error's [`SamplerError::gpu_kind`] decides the `reason` of `gpu_sampler_available`.
    fn init(&mut self) -> Result<Vec<GpuDevice>, SamplerError>;

    /// Reads the fields sampled every tick.
    fn read_fast(&mut self, device: &GpuDevice) -> GpuFastReadings;

    /// Reads the fields sampled every few ticks.
    fn read_slow(&mut self, device: &GpuDevice) -> GpuSlowReadings;

    /// Ends the epoch (releases the library). Called before re-initialisation. Defaults to doing
    /// nothing.
    fn shutdown(&mut self) {}
}

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
                metrics::gauge!("gpu_sampler_available", "reason" => prev.as_str()).set(0.0);
            }
        }
        let value = if reason == GpuAvailability::Ok {
            1.0
        } else {
            0.0
        };
        metrics::gauge!("gpu_sampler_available", "reason" => reason.as_str()).set(value);
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
        set("gpu_usage_percent", labels, f64::from(util));
    }
    if let Ok(used) = fast.memory_used_bytes {
        set("gpu_memory_used_bytes", labels, used as f64);
    }
    if let Ok(total) = fast.memory_total_bytes {
        set("gpu_memory_total_bytes", labels, total as f64);
        if let Ok(used) = fast.memory_used_bytes {
            if total > 0 {
                set(
                    "gpu_memory_usage_percent",
                    labels,
                    used as f64 / total as f64 * 100.0,
                );
            }
        }
    }
    if let Ok(mw) = fast.power_milliwatts {
        set("gpu_power_watts", labels, f64::from(mw) / 1000.0);
    }
    if let Some(slow) = &state.slow {
        if let Ok(t) = slow.temperature_celsius {
            set("gpu_temperature_celsius", labels, f64::from(t));
        }
        if let Ok(mj) = slow.energy_millijoules {
            set("gpu_energy_joules_total", labels, mj as f64 / 1000.0);
        }
        if let Ok(processes) = &slow.processes {
            set(
                "gpu_process_memory_used_bytes",
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

#[cfg(feature = "nvml")]
pub use nvml::NvmlBackend;

#[cfg(feature = "nvml")]
mod nvml {
    use std::ffi::OsString;

    use nvml_wrapper::enum_wrappers::device::TemperatureSensor;
    use nvml_wrapper::enums::device::UsedGpuMemory;
    use nvml_wrapper::error::NvmlError;
    use nvml_wrapper::struct_wrappers::device::ProcessInfo;
    use nvml_wrapper::Nvml;

    use super::{
        GpuBackend, GpuDevice, GpuErrorKind, GpuFastReadings, GpuField, GpuProcess, GpuSlowReadings,
    };
    use crate::sampler::SamplerError;

    /// The NVIDIA backend, through `nvml-wrapper` (feature `nvml`).
    ///
    /// A device whose identity cannot be read at initialisation (for example a GPU that fell off
    /// the bus) is skipped for that epoch, so one dead GPU does not stop sampling of the others.
    ///
    /// The library (`libnvidia-ml.so.1` by default) is loaded at run time on the sampler thread,
    /// so a binary built with `nvml` runs on machines without a GPU and reports
    /// `gpu_sampler_available{reason="library_missing"} 0` there.
    ///
    /// ```no_run
    /// use recwatch::sampler::{NvmlBackend, SamplerBuilder};
    ///
    /// let handle = SamplerBuilder::new()
    ///     .with_gpu_backend(NvmlBackend::new().with_library_path("/usr/lib64/libnvidia-ml.so.1"))
    ///     .start()?;
    /// # Ok::<(), recwatch::sampler::SamplerError>(())
    /// ```
    #[derive(Default)]
    pub struct NvmlBackend {
        library_path: Option<OsString>,
        nvml: Option<Nvml>,
    }

    impl std::fmt::Debug for NvmlBackend {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("NvmlBackend")
                .field("library_path", &self.library_path)
                .field("initialised", &self.nvml.is_some())
                .finish()
        }
    }

    impl NvmlBackend {
        /// A backend loading the default library (`libnvidia-ml.so.1` on Linux).
        pub fn new() -> Self {
            Self::default()
        }

        /// Loads NVML from this path instead. Defaults to `libnvidia-ml.so.1`, found through
        /// the dynamic loader's search path.
        pub fn with_library_path(mut self, path: impl Into<OsString>) -> Self {
            self.library_path = Some(path.into());
            self
        }

        fn nvml(&self) -> Result<&Nvml, GpuErrorKind> {
            self.nvml.as_ref().ok_or(GpuErrorKind::Uninitialized)
        }
    }

    /// Classifies an NVML error.
    pub(crate) fn kind_of(err: &NvmlError) -> GpuErrorKind {
        match err {
            NvmlError::LibloadingError(_)
            | NvmlError::LibraryNotFound
            | NvmlError::FailedToLoadSymbol(_)
            | NvmlError::FunctionNotFound => GpuErrorKind::LibraryMissing,
            NvmlError::DriverNotLoaded => GpuErrorKind::DriverNotLoaded,
            NvmlError::NoPermission => GpuErrorKind::NoPermission,
            NvmlError::NotSupported => GpuErrorKind::NotSupported,
            NvmlError::NoData => GpuErrorKind::NoData,
            NvmlError::GpuLost | NvmlError::ResetRequired => GpuErrorKind::GpuLost,
            NvmlError::LibRmVersionMismatch => GpuErrorKind::VersionMismatch,
            NvmlError::Uninitialized => GpuErrorKind::Uninitialized,
            _ => GpuErrorKind::Other,
        }
    }

    fn nvml_err(source: NvmlError) -> SamplerError {
        SamplerError::Nvml {
            kind: kind_of(&source),
            source,
        }
    }

    fn field<T>(r: Result<T, NvmlError>) -> GpuField<T> {
        r.map_err(|e| kind_of(&e))
    }

    fn processes(list: Vec<ProcessInfo>, out: &mut Vec<GpuProcess>) {
        out.extend(list.into_iter().map(|p| GpuProcess {
            pid: p.pid,
            used_memory_bytes: match p.used_gpu_memory {
                UsedGpuMemory::Used(b) => Some(b),
                UsedGpuMemory::Unavailable => None,
            },
        }));
    }

    impl GpuBackend for NvmlBackend {
        fn init(&mut self) -> Result<Vec<GpuDevice>, SamplerError> {
            self.nvml = None;
            let mut builder = Nvml::builder();
            if let Some(path) = &self.library_path {
                builder.lib_path(path);
            }
            let nvml = builder.init().map_err(nvml_err)?;
            let count = nvml.device_count().map_err(nvml_err)?;
            let mut devices = Vec::with_capacity(count as usize);
            for index in 0..count {
                let identity = nvml
                    .device_by_index(index)
                    .and_then(|device| Ok((device.uuid()?, device.name())));
                match identity {
                    Ok((uuid, name)) => devices.push(GpuDevice {
                        index,
                        uuid,
                        name: name.unwrap_or_else(|_| "unknown".to_owned()),
                    }),
                    // The library as a whole is unusable: the epoch fails.
                    Err(e)
                        if kind_of(&e).is_lifecycle() && kind_of(&e) != GpuErrorKind::GpuLost =>
                    {
                        return Err(nvml_err(e))
                    }
                    // One dead or inaccessible GPU must not stop sampling of the others: skip it.
                    Err(_) => {}
                }
            }
            self.nvml = Some(nvml);
            Ok(devices)
        }

        fn read_fast(&mut self, gpu: &GpuDevice) -> GpuFastReadings {
            let mut r = GpuFastReadings::default();
            let device = match self
                .nvml()
                .and_then(|n| field(n.device_by_index(gpu.index)))
            {
                Ok(d) => d,
                Err(kind) => {
                    r.utilization_percent = Err(kind);
                    return r;
                }
            };
            r.utilization_percent = field(device.utilization_rates().map(|u| u.gpu));
            match field(device.memory_info()) {
                Ok(m) => {
                    r.memory_used_bytes = Ok(m.used);
                    r.memory_total_bytes = Ok(m.total);
                }
                Err(kind) => {
                    r.memory_used_bytes = Err(kind);
                    r.memory_total_bytes = Err(kind);
                }
            }
            r.power_milliwatts = field(device.power_usage());
            r
        }

        fn read_slow(&mut self, gpu: &GpuDevice) -> GpuSlowReadings {
            let mut r = GpuSlowReadings::default();
            let device = match self
                .nvml()
                .and_then(|n| field(n.device_by_index(gpu.index)))
            {
                Ok(d) => d,
                Err(kind) => {
                    r.temperature_celsius = Err(kind);
                    return r;
                }
            };
            r.temperature_celsius = field(device.temperature(TemperatureSensor::Gpu));
            r.energy_millijoules = field(device.total_energy_consumption());
            let mut list = Vec::new();
            let compute = device.running_compute_processes();
            let graphics = device.running_graphics_processes();
            r.processes = match (compute, graphics) {
                (Err(a), Err(_)) => Err(kind_of(&a)),
                (c, g) => {
                    if let Ok(c) = c {
                        processes(c, &mut list);
                    }
                    if let Ok(g) = g {
                        processes(g, &mut list);
                    }
                    Ok(list)
                }
            };
            r
        }

        fn shutdown(&mut self) {
            // Dropping `Nvml` calls nvmlShutdown.
            self.nvml = None;
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn classifies_lifecycle_errors() {
            assert_eq!(kind_of(&NvmlError::GpuLost), GpuErrorKind::GpuLost);
            assert_eq!(
                kind_of(&NvmlError::LibRmVersionMismatch),
                GpuErrorKind::VersionMismatch
            );
            assert_eq!(
                kind_of(&NvmlError::DriverNotLoaded),
                GpuErrorKind::DriverNotLoaded
            );
            assert_eq!(
                kind_of(&NvmlError::NotSupported),
                GpuErrorKind::NotSupported
            );
            assert!(kind_of(&NvmlError::Uninitialized).is_lifecycle());
        }

        #[test]
        fn init_without_library_reports_missing() {
            let mut backend =
                NvmlBackend::new().with_library_path("/nonexistent/libnvidia-ml.so.1");
            let err = backend.init().unwrap_err();
            assert_eq!(err.gpu_kind(), Some(GpuErrorKind::LibraryMissing));
            assert!(std::error::Error::source(&err).is_some());
        }
    }
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
