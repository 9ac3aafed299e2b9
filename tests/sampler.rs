//! Integration tests of `recwatch::sampler` through its public API.
#![cfg(feature = "sampler")]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::MetricKind;
use recwatch::sampler::{
    GpuAvailability, GpuBackend, GpuDevice, GpuErrorKind, GpuFastReadings, GpuProcess,
    GpuSlowReadings, Sampler, SamplerBuilder, SamplerError,
};

/// One published series: name, sorted labels, value (counters as f64).
#[derive(Debug, Clone)]
struct Series {
    kind: MetricKind,
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

/// Runs one tick with a fresh local recorder and returns exactly what that tick published.
fn tick(sampler: &mut Sampler) -> Vec<Series> {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || sampler.tick());
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(ck, _, _, value)| {
            let (kind, key) = ck.into_parts();
            let mut labels: Vec<(String, String)> = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            labels.sort();
            let value = match value {
                DebugValue::Gauge(v) => v.0,
                DebugValue::Counter(v) => v as f64,
                DebugValue::Histogram(v) => v.len() as f64,
            };
            Series {
                kind,
                name: key.name().to_owned(),
                labels,
                value,
            }
        })
        .collect()
}

fn find<'a>(series: &'a [Series], name: &str) -> Vec<&'a Series> {
    series.iter().filter(|s| s.name == name).collect()
}

fn one(series: &[Series], name: &str) -> f64 {
    let found = find(series, name);
    assert_eq!(found.len(), 1, "expected one {name}, got {found:?}");
    found[0].value
}

fn label<'a>(s: &'a Series, key: &str) -> &'a str {
    s.labels
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("{} has no label {key}", s.name))
}

fn gpu_value(series: &[Series], name: &str, gpu: &str) -> Option<f64> {
    find(series, name)
        .into_iter()
        .find(|s| label(s, "gpu") == gpu)
        .map(|s| s.value)
}

fn availability(series: &[Series]) -> (String, f64) {
    let found = find(series, "gpu_sampler_available");
    let current: Vec<_> = found
        .iter()
        .filter(|s| s.value == 1.0 || label(s, "reason") != "ok")
        .collect();
    assert_eq!(
        current.len(),
        1,
        "expected one current availability, got {found:?}"
    );
    (label(current[0], "reason").to_owned(), current[0].value)
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Only container metrics, from a fixture root.
fn container_only(root: impl Into<PathBuf>) -> Sampler {
    SamplerBuilder::new()
        .with_system(false)
        .with_process(false)
        .with_gpu(false)
        .with_cgroup_root(root)
        .build()
}

// ---------------------------------------------------------------------------------------------
// Scripted fake GPU backend
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Script {
    /// What `init` returns: an error kind or the devices.
    init_error: Option<GpuErrorKind>,
    devices: Vec<GpuDevice>,
    /// Indices that report `GpuLost` on every read.
    lost: HashSet<u32>,
    /// Power is not supported by any device.
    power_unsupported: bool,
    processes: Vec<GpuProcess>,
    /// Bookkeeping for assertions.
    init_calls: u32,
    shutdown_calls: u32,
    init_thread: Option<String>,
    fast_reads: u32,
}

#[derive(Debug, Clone, Default)]
struct FakeGpu(Arc<Mutex<Script>>);

impl FakeGpu {
    fn script(&self) -> std::sync::MutexGuard<'_, Script> {
        self.0.lock().unwrap()
    }
}

fn two_gpus() -> Vec<GpuDevice> {
    vec![
        GpuDevice::new(0, "GPU-aaaa", "Fake A100"),
        GpuDevice::new(1, "GPU-bbbb", "Fake A100"),
    ]
}

impl GpuBackend for FakeGpu {
    fn init(&mut self) -> Result<Vec<GpuDevice>, SamplerError> {
        let mut s = self.script();
        s.init_calls += 1;
        s.init_thread = std::thread::current().name().map(str::to_owned);
        match s.init_error {
            Some(kind) => Err(SamplerError::gpu(kind)),
            None => Ok(s
                .devices
                .iter()
                .filter(|d| !s.lost.contains(&d.index))
                .cloned()
                .collect()),
        }
    }

    fn read_fast(&mut self, device: &GpuDevice) -> GpuFastReadings {
        let mut s = self.script();
        s.fast_reads += 1;
        let mut r = GpuFastReadings::default();
        if s.lost.contains(&device.index) {
            r.utilization_percent = Err(GpuErrorKind::GpuLost);
            return r;
        }
        r.utilization_percent = Ok(10 + device.index * 10);
        r.memory_used_bytes = Ok(4 << 30);
        r.memory_total_bytes = Ok(16 << 30);
        if !s.power_unsupported {
            r.power_milliwatts = Ok(150_500);
        }
        r
    }

    fn read_slow(&mut self, device: &GpuDevice) -> GpuSlowReadings {
        let s = self.script();
        let mut r = GpuSlowReadings::default();
        if s.lost.contains(&device.index) {
            r.temperature_celsius = Err(GpuErrorKind::GpuLost);
            return r;
        }
        r.temperature_celsius = Ok(60 + device.index);
        r.energy_millijoules = Ok(1_234_567);
        r.processes = Ok(s.processes.clone());
        r
    }

    fn shutdown(&mut self) {
        self.script().shutdown_calls += 1;
    }
}

fn gpu_sampler(fake: &FakeGpu) -> Sampler {
    SamplerBuilder::new()
        .with_system(false)
        .with_process(false)
        .with_container(false)
        .with_gpu_backend(fake.clone())
        .with_gpu_backoff(Duration::ZERO, Duration::ZERO)
        .build()
}

#[test]
fn fake_library_missing_reports_reason_and_no_gpu_series() {
    let fake = FakeGpu::default();
    fake.script().init_error = Some(GpuErrorKind::LibraryMissing);
    let mut sampler = gpu_sampler(&fake);
    let s = tick(&mut sampler);
    assert_eq!(availability(&s), ("library_missing".to_owned(), 0.0));
    assert!(find(&s, "gpu_usage_percent").is_empty());
    assert_eq!(
        sampler.gpu_availability(),
        Some(GpuAvailability::LibraryMissing)
    );
    // A missing library is a state, not an error.
    assert!(find(&s, "recwatch_sampler_errors_total").is_empty());
}

#[test]
fn fake_init_failures_map_to_reasons() {
    for (kind, reason) in [
        (GpuErrorKind::DriverNotLoaded, "driver_not_loaded"),
        (GpuErrorKind::NoPermission, "no_permission"),
        (GpuErrorKind::VersionMismatch, "error"),
        (GpuErrorKind::Other, "error"),
    ] {
        let fake = FakeGpu::default();
        fake.script().init_error = Some(kind);
        let mut sampler = gpu_sampler(&fake);
        let s = tick(&mut sampler);
        assert_eq!(availability(&s), (reason.to_owned(), 0.0), "{kind:?}");
    }
}

#[test]
fn fake_no_devices() {
    let fake = FakeGpu::default();
    let mut sampler = gpu_sampler(&fake);
    let s = tick(&mut sampler);
    assert_eq!(availability(&s), ("no_devices".to_owned(), 0.0));
    assert!(find(&s, "gpu_usage_percent").is_empty());
}

#[test]
fn fake_two_gpus_are_labelled_and_unsupported_fields_are_absent() {
    let fake = FakeGpu::default();
    {
        let mut s = fake.script();
        s.devices = two_gpus();
        s.power_unsupported = true;
        s.processes = vec![
            GpuProcess::new(std::process::id(), Some(512 << 20)),
            GpuProcess::new(u32::MAX - 1, Some(1 << 30)),
        ];
    }
    let mut sampler = gpu_sampler(&fake);
    let s = tick(&mut sampler);
    assert_eq!(availability(&s), ("ok".to_owned(), 1.0));

    let usage = find(&s, "gpu_usage_percent");
    assert_eq!(usage.len(), 2);
    let gpu1 = usage.iter().find(|s| label(s, "gpu") == "1").unwrap();
    assert_eq!(label(gpu1, "uuid"), "GPU-bbbb");
    assert_eq!(label(gpu1, "name"), "Fake A100");
    assert_eq!(gpu1.value, 20.0);

    assert_eq!(gpu_value(&s, "gpu_memory_usage_percent", "0"), Some(25.0));
    assert_eq!(
        gpu_value(&s, "gpu_memory_used_bytes", "0"),
        Some((4u64 << 30) as f64)
    );
    assert_eq!(
        gpu_value(&s, "gpu_memory_total_bytes", "1"),
        Some((16u64 << 30) as f64)
    );
    assert_eq!(gpu_value(&s, "gpu_temperature_celsius", "1"), Some(61.0));
    assert_eq!(
        gpu_value(&s, "gpu_energy_joules_total", "0"),
        Some(1234.567)
    );
    // Only this process's entry counts.
    assert_eq!(
        gpu_value(&s, "gpu_process_memory_used_bytes", "0"),
        Some((512u64 << 20) as f64)
    );
    // Not supported: absent, never 0.
    assert!(find(&s, "gpu_power_watts").is_empty());
    assert!(find(&s, "recwatch_sampler_errors_total").is_empty());

    // Identity is read once per epoch; slow fields are republished every tick.
    let s = tick(&mut sampler);
    assert_eq!(fake.script().init_calls, 1);
    assert_eq!(gpu_value(&s, "gpu_temperature_celsius", "0"), Some(60.0));
}

#[test]
fn fake_supported_power_is_in_watts() {
    let fake = FakeGpu::default();
    fake.script().devices = two_gpus();
    let mut sampler = gpu_sampler(&fake);
    let s = tick(&mut sampler);
    assert_eq!(gpu_value(&s, "gpu_power_watts", "0"), Some(150.5));
}

#[test]
fn fake_gpu_lost_mid_run_then_disappears_then_recovers() {
    let fake = FakeGpu::default();
    fake.script().devices = two_gpus();
    let mut sampler = gpu_sampler(&fake);

    let s = tick(&mut sampler);
    assert_eq!(find(&s, "gpu_usage_percent").len(), 2);

    // GPU 1 falls off the bus: the epoch ends, the backend is shut down, reason is `error`.
    fake.script().lost.insert(1);
    let s = tick(&mut sampler);
    assert_eq!(availability(&s), ("error".to_owned(), 0.0));
    assert!(gpu_value(&s, "gpu_usage_percent", "1").is_none());
    assert_eq!(fake.script().shutdown_calls, 1);
    assert_eq!(one(&s, "recwatch_sampler_errors_total"), 1.0);
    // The stale `ok` series is zeroed (and idles out in the exporter).
    assert!(find(&s, "gpu_sampler_available")
        .iter()
        .any(|x| label(x, "reason") == "ok" && x.value == 0.0));

    // Re-initialised (backoff 0): only GPU 0 is left, GPU 1's series are no longer published.
    let s = tick(&mut sampler);
    assert_eq!(fake.script().init_calls, 2);
    assert_eq!(availability(&s), ("ok".to_owned(), 1.0));
    assert_eq!(gpu_value(&s, "gpu_usage_percent", "0"), Some(10.0));
    assert!(gpu_value(&s, "gpu_usage_percent", "1").is_none());
    assert!(gpu_value(&s, "gpu_temperature_celsius", "1").is_none());

    // The whole driver goes away, then comes back with both GPUs.
    {
        let mut script = fake.script();
        script.lost.insert(0);
        script.init_error = Some(GpuErrorKind::DriverNotLoaded);
    }
    let s = tick(&mut sampler);
    assert_eq!(availability(&s).1, 0.0);
    assert!(find(&s, "gpu_usage_percent").is_empty());
    let s = tick(&mut sampler);
    assert_eq!(availability(&s), ("driver_not_loaded".to_owned(), 0.0));
    assert!(find(&s, "gpu_usage_percent").is_empty());

    {
        let mut script = fake.script();
        script.lost.clear();
        script.init_error = None;
    }
    let s = tick(&mut sampler);
    assert_eq!(availability(&s), ("ok".to_owned(), 1.0));
    assert_eq!(find(&s, "gpu_usage_percent").len(), 2);
}

#[test]
fn reinitialisation_respects_backoff() {
    let fake = FakeGpu::default();
    fake.script().init_error = Some(GpuErrorKind::DriverNotLoaded);
    let mut sampler = SamplerBuilder::new()
        .with_system(false)
        .with_process(false)
        .with_container(false)
        .with_gpu_backend(fake.clone())
        .with_gpu_backoff(Duration::from_secs(3600), Duration::from_secs(3600))
        .build();
    for _ in 0..3 {
        let s = tick(&mut sampler);
        // Still reported on every tick while waiting.
        assert_eq!(availability(&s), ("driver_not_loaded".to_owned(), 0.0));
    }
    assert_eq!(fake.script().init_calls, 1);
}

// ---------------------------------------------------------------------------------------------
// Real NVML backend on a machine without a GPU
// ---------------------------------------------------------------------------------------------

#[cfg(feature = "nvml")]
#[test]
fn real_nvml_without_gpu_degrades_cleanly() {
    let mut sampler = SamplerBuilder::new()
        .with_system(false)
        .with_process(false)
        .with_container(false)
        .build();
    let s = tick(&mut sampler);
    let (reason, value) = availability(&s);
    if reason == "ok" {
        // Running on a machine with a GPU after all.
        assert_eq!(value, 1.0);
        return;
    }
    assert!(
        reason == "library_missing" || reason == "driver_not_loaded",
        "unexpected reason {reason}"
    );
    assert_eq!(value, 0.0);
    assert!(find(&s, "gpu_usage_percent").is_empty());
}

#[cfg(not(feature = "nvml"))]
#[test]
fn without_nvml_no_gpu_series_are_published() {
    let mut sampler = SamplerBuilder::new().with_system(false).build();
    let s = tick(&mut sampler);
    assert!(s.iter().all(|x| !x.name.starts_with("gpu_")));
    assert_eq!(sampler.gpu_availability(), None);
}

// ---------------------------------------------------------------------------------------------
// System and process
// ---------------------------------------------------------------------------------------------

#[test]
fn system_gauges_are_percentages() {
    let mut sampler = SamplerBuilder::new()
        .with_process(false)
        .with_container(false)
        .with_gpu(false)
        .build();
    // Past sysinfo's minimum CPU refresh interval (200 ms on Linux).
    std::thread::sleep(Duration::from_millis(400));
    let s = tick(&mut sampler);
    let cpu = one(&s, "system_cpu_usage_percent");
    assert!((0.0..=100.0).contains(&cpu), "{cpu}");
    let mem = one(&s, "system_memory_usage_percent");
    assert!(mem > 0.0 && mem <= 100.0, "{mem}");
    assert!(one(&s, "system_memory_used_bytes") <= one(&s, "system_memory_total_bytes"));
    assert!(find(&s, "gpu_sampler_available").is_empty());
    assert_eq!(one(&s, "recwatch_sampler_ticks_total"), 1.0);
    let hist = find(&s, "recwatch_sampler_tick_duration_seconds");
    assert_eq!(hist.len(), 1);
    assert_eq!(hist[0].kind, MetricKind::Histogram);
}

#[cfg(target_os = "linux")]
#[test]
fn process_metrics_have_standard_names() {
    let mut sampler = SamplerBuilder::new()
        .with_system(false)
        .with_container(false)
        .with_gpu(false)
        .build();
    // Burn a little CPU so the fractional CPU time is visibly non-zero.
    let t = Instant::now();
    let mut x = 0u64;
    while t.elapsed() < Duration::from_millis(50) {
        x = x.wrapping_mul(31).wrapping_add(7);
    }
    std::hint::black_box(x);
    let s = tick(&mut sampler);
    let cpu = one(&s, "process_cpu_seconds_total");
    assert!(cpu > 0.0, "{cpu}");
    assert!(one(&s, "process_resident_memory_bytes") > 0.0);
    assert!(one(&s, "process_virtual_memory_bytes") >= one(&s, "process_resident_memory_bytes"));
    assert!(one(&s, "process_open_fds") >= 3.0);
    assert!(one(&s, "process_threads") >= 1.0);
    let start = one(&s, "process_start_time_seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(start > 1.0e9 && start <= now + 1.0, "{start} vs {now}");
}

// ---------------------------------------------------------------------------------------------
// Containers (fixtures)
// ---------------------------------------------------------------------------------------------

#[test]
fn cgroup_v2_limits_and_usage() {
    let mut sampler = container_only(fixture("cgroup_v2"));
    let s = tick(&mut sampler);
    assert_eq!(one(&s, "container_cpu_limit_cores"), 2.5);
    assert_eq!(one(&s, "container_cpu_usage_seconds_total"), 12.5);
    assert_eq!(one(&s, "container_memory_limit_bytes"), 1073741824.0);
    assert_eq!(one(&s, "container_memory_usage_bytes"), 268435456.0);
    assert_eq!(one(&s, "container_memory_usage_percent"), 25.0);
    // Needs two readings.
    assert!(find(&s, "container_cpu_usage_percent").is_empty());
}

#[test]
fn cgroup_v2_without_limits_publishes_usage_only() {
    let mut sampler = container_only(fixture("cgroup_v2_unlimited"));
    let s = tick(&mut sampler);
    assert!(find(&s, "container_cpu_limit_cores").is_empty());
    assert!(find(&s, "container_memory_limit_bytes").is_empty());
    assert!(find(&s, "container_memory_usage_percent").is_empty());
    assert_eq!(one(&s, "container_cpu_usage_seconds_total"), 3.0);
    assert_eq!(one(&s, "container_memory_usage_bytes"), 104857600.0);
}

#[test]
fn cgroup_v1_limits_and_usage() {
    let mut sampler = container_only(fixture("cgroup_v1"));
    let s = tick(&mut sampler);
    assert_eq!(one(&s, "container_cpu_limit_cores"), 0.5);
    assert_eq!(one(&s, "container_cpu_usage_seconds_total"), 7.0);
    assert_eq!(one(&s, "container_memory_limit_bytes"), 536870912.0);
    assert_eq!(one(&s, "container_memory_usage_bytes"), 134217728.0);
}

#[test]
fn cgroup_v1_unlimited_is_absent() {
    let mut sampler = container_only(fixture("cgroup_v1_unlimited"));
    let s = tick(&mut sampler);
    assert!(find(&s, "container_cpu_limit_cores").is_empty());
    assert!(find(&s, "container_memory_limit_bytes").is_empty());
    assert_eq!(one(&s, "container_memory_usage_bytes"), 2936098816.0);
}

#[test]
fn no_cgroup_means_no_container_series() {
    let mut sampler = container_only(fixture("does_not_exist"));
    let s = tick(&mut sampler);
    assert!(s.iter().all(|x| !x.name.starts_with("container_")));
}

#[test]
fn cpu_usage_relative_to_quota() {
    let dir = std::env::temp_dir().join(format!("recwatch-cgroup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for f in [
        "cgroup.controllers",
        "cpu.max",
        "cpu.stat",
        "memory.max",
        "memory.current",
    ] {
        std::fs::copy(fixture("cgroup_v2").join(f), dir.join(f)).unwrap();
    }
    let mut sampler = container_only(&dir);
    tick(&mut sampler);
    std::thread::sleep(Duration::from_millis(50));
    // 10 ms more CPU time: a small positive share of the 2.5-core quota.
    std::fs::write(dir.join("cpu.stat"), "usage_usec 12510000\n").unwrap();
    let s = tick(&mut sampler);
    let pct = one(&s, "container_cpu_usage_percent");
    assert!(pct > 0.0 && pct <= 100.0, "{pct}");
    std::fs::remove_dir_all(&dir).ok();
}

// ---------------------------------------------------------------------------------------------
// Thread lifecycle (no metric assertions: the thread has no local recorder)
// ---------------------------------------------------------------------------------------------

#[test]
fn runs_on_its_own_named_thread_and_shuts_down() {
    let fake = FakeGpu::default();
    fake.script().devices = two_gpus();
    let handle = SamplerBuilder::new()
        .with_interval(Duration::from_millis(100))
        .with_container(false)
        .with_gpu_backend(fake.clone())
        .with_thread_name("recwatch-sampler-test")
        .spawn()
        .unwrap();
    assert_eq!(handle.thread_name(), Some("recwatch-sampler-test"));
    assert!(handle.is_running());
    let deadline = Instant::now() + Duration::from_secs(30);
    while fake.script().fast_reads < 4 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(fake.script().fast_reads >= 4, "the sampler did not tick");
    assert_eq!(
        fake.script().init_thread.as_deref(),
        Some("recwatch-sampler-test")
    );
    handle.shutdown(Duration::from_secs(10)).unwrap();
    // Shutting down ends the epoch.
    assert_eq!(fake.script().shutdown_calls, 1);
}

#[test]
fn dropping_the_handle_stops_the_thread() {
    let fake = FakeGpu::default();
    let handle = SamplerBuilder::new()
        .with_interval(Duration::from_secs(3600))
        .with_gpu_backend(fake.clone())
        .with_shutdown_timeout(Duration::from_secs(10))
        .spawn()
        .unwrap();
    drop(handle);
    // The sampler (and its backend clone) is gone once the thread finished.
    assert_eq!(Arc::strong_count(&fake.0), 1);
}

/// A backend whose reads block until released, like a hung driver call.
struct HangingGpu {
    entered: mpsc::Sender<()>,
    release: Arc<Mutex<mpsc::Receiver<()>>>,
}

impl GpuBackend for HangingGpu {
    fn init(&mut self) -> Result<Vec<GpuDevice>, SamplerError> {
        Ok(vec![GpuDevice::new(0, "GPU-hang", "Hanging GPU")])
    }
    fn read_fast(&mut self, _device: &GpuDevice) -> GpuFastReadings {
        let _ = self.entered.send(());
        let _ = self.release.lock().unwrap().recv();
        GpuFastReadings::default()
    }
    fn read_slow(&mut self, _device: &GpuDevice) -> GpuSlowReadings {
        GpuSlowReadings::default()
    }
}

#[test]
fn shutdown_is_bounded_even_if_a_driver_call_hangs() {
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let handle = SamplerBuilder::new()
        .with_interval(Duration::from_millis(100))
        .with_system(false)
        .with_process(false)
        .with_container(false)
        .with_gpu_backend(HangingGpu {
            entered: entered_tx,
            release: Arc::new(Mutex::new(release_rx)),
        })
        .spawn()
        .unwrap();
    entered_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the sampler never called the backend");
    let started = Instant::now();
    let err = handle.shutdown(Duration::from_millis(200)).unwrap_err();
    assert!(
        matches!(err, SamplerError::ShutdownTimedOut { .. }),
        "{err:?}"
    );
    // Bounded: generous limit, far below "forever".
    assert!(started.elapsed() < Duration::from_secs(20));
    // Release the hung call; the detached thread then exits on its own.
    release_tx.send(()).unwrap();
}
