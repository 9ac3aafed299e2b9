//! The NVIDIA backend, through `nvml-wrapper`.

use std::ffi::OsString;

use nvml_wrapper::enum_wrappers::device::TemperatureSensor;
use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::struct_wrappers::device::ProcessInfo;
use nvml_wrapper::Nvml;

use super::types::{
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
///     .spawn()?;
/// # Ok::<(), recwatch::sampler::SamplerError>(())
/// ```
#[derive(Default)]
#[must_use = "a backend does nothing until passed to `SamplerBuilder::with_gpu_backend`"]
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
                Err(e) if kind_of(&e).is_lifecycle() && kind_of(&e) != GpuErrorKind::GpuLost => {
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
        let mut backend = NvmlBackend::new().with_library_path("/nonexistent/libnvidia-ml.so.1");
        let err = backend.init().unwrap_err();
        assert_eq!(err.gpu_kind(), Some(GpuErrorKind::LibraryMissing));
        assert!(std::error::Error::source(&err).is_some());
    }
}
