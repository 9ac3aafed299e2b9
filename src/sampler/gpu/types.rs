//! The [`GpuBackend`] trait and the types it speaks in.

use std::fmt;

use crate::sampler::SamplerError;

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
    pub(crate) fn is_expected_absence(self) -> bool {
        matches!(
            self,
            GpuErrorKind::NotSupported | GpuErrorKind::NoData | GpuErrorKind::NoPermission
        )
    }

    /// The `reason` label of `gpu_sampler_available` for an initialisation failing this way.
    pub(crate) fn reason(self) -> GpuAvailability {
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
#[non_exhaustive]
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
#[non_exhaustive]
pub struct GpuProcess {
    /// The process id as the driver sees it (usually the host pid).
    pub pid: u32,
    /// GPU memory used by the process, if the driver reports it.
    pub used_memory_bytes: Option<u64>,
}

impl GpuProcess {
    /// A process entry.
    ///
    /// ```
    /// let p = recwatch::sampler::GpuProcess::new(4242, Some(1 << 30));
    /// assert_eq!(p.pid, 4242);
    /// ```
    pub fn new(pid: u32, used_memory_bytes: Option<u64>) -> Self {
        GpuProcess {
            pid,
            used_memory_bytes,
        }
    }
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
