//! Metrics of the resource sampler (`recwatch::sampler`).

use super::{MetricKind::*, MetricSpec, MetricUnit, SAMPLER_TICK_BUCKETS};

/// Labels of every per-device GPU gauge.
const GPU_LABELS: &[&str] = &["gpu", "uuid", "name"];

/// `system_cpu_usage_percent`: system-wide CPU usage, 0-100.
pub const SYSTEM_CPU_USAGE_PERCENT: MetricSpec = MetricSpec::new(
    "system_cpu_usage_percent",
    Gauge,
    MetricUnit::Percent,
    "sampler",
    "System-wide CPU usage, 0-100.",
);

/// `system_memory_usage_percent`: system memory in use, 0-100.
pub const SYSTEM_MEMORY_USAGE_PERCENT: MetricSpec = MetricSpec::new(
    "system_memory_usage_percent",
    Gauge,
    MetricUnit::Percent,
    "sampler",
    "System memory in use, 0-100.",
);

/// `system_memory_used_bytes`: system memory in use.
pub const SYSTEM_MEMORY_USED_BYTES: MetricSpec = MetricSpec::new(
    "system_memory_used_bytes",
    Gauge,
    MetricUnit::Bytes,
    "sampler",
    "System memory in use.",
);

/// `system_memory_total_bytes`: total system memory.
pub const SYSTEM_MEMORY_TOTAL_BYTES: MetricSpec = MetricSpec::new(
    "system_memory_total_bytes",
    Gauge,
    MetricUnit::Bytes,
    "sampler",
    "Total system memory.",
);

/// `process_cpu_seconds_total`: total user and system CPU time spent by the process.
pub const PROCESS_CPU_SECONDS_TOTAL: MetricSpec = MetricSpec::new(
    "process_cpu_seconds_total",
    Gauge,
    MetricUnit::Seconds,
    "sampler",
    "Total user and system CPU time spent by the process.",
)
.fractional();

/// `process_resident_memory_bytes`: resident memory size.
pub const PROCESS_RESIDENT_MEMORY_BYTES: MetricSpec = MetricSpec::new(
    "process_resident_memory_bytes",
    Gauge,
    MetricUnit::Bytes,
    "sampler",
    "Resident memory size.",
);

/// `process_virtual_memory_bytes`: virtual memory size.
pub const PROCESS_VIRTUAL_MEMORY_BYTES: MetricSpec = MetricSpec::new(
    "process_virtual_memory_bytes",
    Gauge,
    MetricUnit::Bytes,
    "sampler",
    "Virtual memory size.",
);

/// `process_open_fds`: number of open file descriptors.
pub const PROCESS_OPEN_FDS: MetricSpec = MetricSpec::new(
    "process_open_fds",
    Gauge,
    MetricUnit::None,
    "sampler",
    "Number of open file descriptors.",
);

/// `process_max_fds`: maximum number of open file descriptors.
pub const PROCESS_MAX_FDS: MetricSpec = MetricSpec::new(
    "process_max_fds",
    Gauge,
    MetricUnit::None,
    "sampler",
    "Maximum number of open file descriptors.",
);

/// `process_threads`: number of OS threads in the process.
pub const PROCESS_THREADS: MetricSpec = MetricSpec::new(
    "process_threads",
    Gauge,
    MetricUnit::None,
    "sampler",
    "Number of OS threads in the process.",
);

/// `process_start_time_seconds`: start time of the process since the Unix epoch.
pub const PROCESS_START_TIME_SECONDS: MetricSpec = MetricSpec::new(
    "process_start_time_seconds",
    Gauge,
    MetricUnit::Seconds,
    "sampler",
    "Start time of the process since the Unix epoch.",
);

/// `container_cpu_limit_cores`: cPU quota of the cgroup, in cores.
pub const CONTAINER_CPU_LIMIT_CORES: MetricSpec = MetricSpec::new(
    "container_cpu_limit_cores",
    Gauge,
    MetricUnit::Cores,
    "sampler",
    "CPU quota of the cgroup, in cores.",
);

/// `container_cpu_usage_seconds_total`: cPU time used by the cgroup.
pub const CONTAINER_CPU_USAGE_SECONDS_TOTAL: MetricSpec = MetricSpec::new(
    "container_cpu_usage_seconds_total",
    Gauge,
    MetricUnit::Seconds,
    "sampler",
    "CPU time used by the cgroup.",
)
.fractional();

/// `container_cpu_usage_percent`: cPU usage of the cgroup relative to its quota, 0-100.
pub const CONTAINER_CPU_USAGE_PERCENT: MetricSpec = MetricSpec::new(
    "container_cpu_usage_percent",
    Gauge,
    MetricUnit::Percent,
    "sampler",
    "CPU usage of the cgroup relative to its quota, 0-100.",
);

/// `container_memory_limit_bytes`: memory limit of the cgroup.
pub const CONTAINER_MEMORY_LIMIT_BYTES: MetricSpec = MetricSpec::new(
    "container_memory_limit_bytes",
    Gauge,
    MetricUnit::Bytes,
    "sampler",
    "Memory limit of the cgroup.",
);

/// `container_memory_usage_bytes`: memory used by the cgroup.
pub const CONTAINER_MEMORY_USAGE_BYTES: MetricSpec = MetricSpec::new(
    "container_memory_usage_bytes",
    Gauge,
    MetricUnit::Bytes,
    "sampler",
    "Memory used by the cgroup.",
);

/// `container_memory_usage_percent`: memory used by the cgroup relative to its limit, 0-100.
pub const CONTAINER_MEMORY_USAGE_PERCENT: MetricSpec = MetricSpec::new(
    "container_memory_usage_percent",
    Gauge,
    MetricUnit::Percent,
    "sampler",
    "Memory used by the cgroup relative to its limit, 0-100.",
);

/// `gpu_sampler_available`: 1 if GPUs are sampled (reason=ok), else 0 with the reason. The
/// series of a reason that no longer holds expires.
pub const GPU_SAMPLER_AVAILABLE: MetricSpec = MetricSpec::new(
    "gpu_sampler_available",
    Gauge,
    MetricUnit::None,
    "sampler",
    "1 if GPUs are sampled (reason=ok), else 0 with the reason.",
)
.labels(&["reason"])
.expiring();

/// `gpu_usage_percent`: gPU utilisation, 0-100. Labels gpu, uuid, name; series expire when the GPU stops reporting.
pub const GPU_USAGE_PERCENT: MetricSpec = MetricSpec::new(
    "gpu_usage_percent",
    Gauge,
    MetricUnit::Percent,
    "sampler",
    "GPU utilisation, 0-100.",
)
.labels(GPU_LABELS)
.expiring();

/// `gpu_memory_usage_percent`: gPU memory in use relative to total, 0-100. Labels gpu, uuid, name; series expire when the GPU stops reporting.
pub const GPU_MEMORY_USAGE_PERCENT: MetricSpec = MetricSpec::new(
    "gpu_memory_usage_percent",
    Gauge,
    MetricUnit::Percent,
    "sampler",
    "GPU memory in use relative to total, 0-100.",
)
.labels(GPU_LABELS)
.expiring();

/// `gpu_memory_used_bytes`: gPU memory in use. Labels gpu, uuid, name; series expire when the GPU stops reporting.
pub const GPU_MEMORY_USED_BYTES: MetricSpec = MetricSpec::new(
    "gpu_memory_used_bytes",
    Gauge,
    MetricUnit::Bytes,
    "sampler",
    "GPU memory in use.",
)
.labels(GPU_LABELS)
.expiring();

/// `gpu_memory_total_bytes`: total GPU memory. Labels gpu, uuid, name; series expire when the GPU stops reporting.
pub const GPU_MEMORY_TOTAL_BYTES: MetricSpec = MetricSpec::new(
    "gpu_memory_total_bytes",
    Gauge,
    MetricUnit::Bytes,
    "sampler",
    "Total GPU memory.",
)
.labels(GPU_LABELS)
.expiring();

/// `gpu_temperature_celsius`: gPU core temperature in degrees Celsius. Labels gpu, uuid, name; series expire when the GPU stops reporting.
pub const GPU_TEMPERATURE_CELSIUS: MetricSpec = MetricSpec::new(
    "gpu_temperature_celsius",
    Gauge,
    MetricUnit::Celsius,
    "sampler",
    "GPU core temperature in degrees Celsius.",
)
.labels(GPU_LABELS)
.expiring();

/// `gpu_power_watts`: gPU power draw in watts. Labels gpu, uuid, name; series expire when the GPU stops reporting.
pub const GPU_POWER_WATTS: MetricSpec = MetricSpec::new(
    "gpu_power_watts",
    Gauge,
    MetricUnit::Watts,
    "sampler",
    "GPU power draw in watts.",
)
.labels(GPU_LABELS)
.expiring();

/// `gpu_energy_joules_total`: gPU energy used since the driver was loaded, in joules. Labels gpu, uuid, name; series expire when the GPU stops reporting.
pub const GPU_ENERGY_JOULES_TOTAL: MetricSpec = MetricSpec::new(
    "gpu_energy_joules_total",
    Gauge,
    MetricUnit::Joules,
    "sampler",
    "GPU energy used since the driver was loaded, in joules.",
)
.labels(GPU_LABELS)
.expiring()
.fractional();

/// `gpu_process_memory_used_bytes`: gPU memory used by this process. Labels gpu, uuid, name; series expire when the GPU stops reporting.
pub const GPU_PROCESS_MEMORY_USED_BYTES: MetricSpec = MetricSpec::new(
    "gpu_process_memory_used_bytes",
    Gauge,
    MetricUnit::Bytes,
    "sampler",
    "GPU memory used by this process.",
)
.labels(GPU_LABELS)
.expiring();

/// `recwatch_sampler_tick_duration_seconds`: wall time of one sampler tick (histogram).
pub const SAMPLER_TICK_DURATION_SECONDS: MetricSpec = MetricSpec::new(
    "recwatch_sampler_tick_duration_seconds",
    Histogram,
    MetricUnit::Seconds,
    "sampler",
    "Wall time of one sampler tick.",
)
.buckets(SAMPLER_TICK_BUCKETS);

/// `recwatch_sampler_ticks_total`: sampler ticks run (counter).
pub const SAMPLER_TICKS_TOTAL: MetricSpec = MetricSpec::new(
    "recwatch_sampler_ticks_total",
    Counter,
    MetricUnit::None,
    "sampler",
    "Sampler ticks run.",
);

/// `recwatch_sampler_errors_total`: readings that failed unexpectedly (counter; collector).
pub const SAMPLER_ERRORS_TOTAL: MetricSpec = MetricSpec::new(
    "recwatch_sampler_errors_total",
    Counter,
    MetricUnit::None,
    "sampler",
    "Readings that failed unexpectedly, by collector.",
)
.labels(&["collector"]);

pub(super) const SPECS: &[MetricSpec] = &[
    SYSTEM_CPU_USAGE_PERCENT,
    SYSTEM_MEMORY_USAGE_PERCENT,
    SYSTEM_MEMORY_USED_BYTES,
    SYSTEM_MEMORY_TOTAL_BYTES,
    PROCESS_CPU_SECONDS_TOTAL,
    PROCESS_RESIDENT_MEMORY_BYTES,
    PROCESS_VIRTUAL_MEMORY_BYTES,
    PROCESS_OPEN_FDS,
    PROCESS_MAX_FDS,
    PROCESS_THREADS,
    PROCESS_START_TIME_SECONDS,
    CONTAINER_CPU_LIMIT_CORES,
    CONTAINER_CPU_USAGE_SECONDS_TOTAL,
    CONTAINER_CPU_USAGE_PERCENT,
    CONTAINER_MEMORY_LIMIT_BYTES,
    CONTAINER_MEMORY_USAGE_BYTES,
    CONTAINER_MEMORY_USAGE_PERCENT,
    GPU_SAMPLER_AVAILABLE,
    GPU_USAGE_PERCENT,
    GPU_MEMORY_USAGE_PERCENT,
    GPU_MEMORY_USED_BYTES,
    GPU_MEMORY_TOTAL_BYTES,
    GPU_TEMPERATURE_CELSIUS,
    GPU_POWER_WATTS,
    GPU_ENERGY_JOULES_TOTAL,
    GPU_PROCESS_MEMORY_USED_BYTES,
    SAMPLER_TICK_DURATION_SECONDS,
    SAMPLER_TICKS_TOTAL,
    SAMPLER_ERRORS_TOTAL,
];
