//! The sampler's output through recwatch's real Prometheus exporter.
#![cfg(feature = "sampler")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use recwatch::exporter::{ExporterBuilder, RecwatchRecorder};
use recwatch::sampler::{
    GpuBackend, GpuDevice, GpuErrorKind, GpuFastReadings, GpuSlowReadings, Sampler, SamplerBuilder,
    SamplerError,
};

fn tick(recorder: &RecwatchRecorder, sampler: &mut Sampler) {
    metrics::with_local_recorder(recorder, || sampler.tick());
}

/// Lines of the rendered text that are samples of `name`.
fn samples(text: &str, name: &str) -> Vec<String> {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .map(str::to_owned)
        .collect()
}

fn value(line: &str) -> f64 {
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn metrics_page_without_gpu() {
    let (recorder, handle) = ExporterBuilder::new().build();
    let mut sampler = SamplerBuilder::new().build();
    std::thread::sleep(Duration::from_millis(400));
    tick(&recorder, &mut sampler);
    let text = handle.render();
    if std::env::var_os("RECWATCH_PRINT_METRICS").is_some() {
        println!("{text}");
    }

    for name in ["system_cpu_usage_percent", "system_memory_usage_percent"] {
        let lines = samples(&text, name);
        assert_eq!(lines.len(), 1, "{name} in\n{text}");
        let v = value(&lines[0]);
        assert!((0.0..=100.0).contains(&v), "{name} = {v}");
    }
    #[cfg(target_os = "linux")]
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_open_fds",
        "process_threads",
        "process_start_time_seconds",
    ] {
        assert_eq!(samples(&text, name).len(), 1, "{name} in\n{text}");
    }
    #[cfg(target_os = "linux")]
    assert!(
        text.contains("# TYPE process_cpu_seconds_total counter\n"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE recwatch_sampler_tick_duration_seconds histogram"),
        "{text}"
    );
    assert!(samples(&text, "gpu_usage_percent").is_empty(), "{text}");

    #[cfg(feature = "nvml")]
    {
        let available = samples(&text, "gpu_sampler_available");
        assert_eq!(available.len(), 1, "{text}");
        assert!(available[0].contains("reason=\""), "{}", available[0]);
        if !available[0].contains("reason=\"ok\"") {
            assert_eq!(value(&available[0]), 0.0);
        }
    }
    #[cfg(not(feature = "nvml"))]
    assert!(samples(&text, "gpu_sampler_available").is_empty(), "{text}");
}

/// Two GPUs; GPU 1 can be made to disappear.
#[derive(Clone, Default)]
struct Vanishing(Arc<Mutex<bool>>);

impl GpuBackend for Vanishing {
    fn init(&mut self) -> Result<Vec<GpuDevice>, SamplerError> {
        let mut devices = vec![GpuDevice::new(0, "GPU-aaaa", "Fake")];
        if !*self.0.lock().unwrap() {
            devices.push(GpuDevice::new(1, "GPU-bbbb", "Fake"));
        }
        Ok(devices)
    }
    fn read_fast(&mut self, device: &GpuDevice) -> GpuFastReadings {
        let mut r = GpuFastReadings::default();
        r.utilization_percent = if device.index == 1 && *self.0.lock().unwrap() {
            Err(GpuErrorKind::GpuLost)
        } else {
            Ok(50)
        };
        r
    }
    fn read_slow(&mut self, _device: &GpuDevice) -> GpuSlowReadings {
        let mut r = GpuSlowReadings::default();
        r.temperature_celsius = Ok(55);
        r
    }
}

#[test]
fn series_of_a_vanished_gpu_stop_being_exported_with_an_idle_timeout() {
    let (recorder, handle) = ExporterBuilder::new()
        .with_gpu_idle_timeout(Duration::from_secs(1))
        .build();
    let gone = Vanishing::default();
    let mut sampler = SamplerBuilder::new()
        .with_system(false)
        .with_process(false)
        .with_container(false)
        .with_gpu_backend(gone.clone())
        .with_gpu_backoff(Duration::ZERO, Duration::ZERO)
        .build();

    tick(&recorder, &mut sampler);
    let text = handle.render();
    assert_eq!(samples(&text, "gpu_usage_percent").len(), 2, "{text}");
    assert_eq!(samples(&text, "gpu_temperature_celsius").len(), 2, "{text}");

    *gone.0.lock().unwrap() = true;
    tick(&recorder, &mut sampler); // GPU 1 lost: epoch ends
    tick(&recorder, &mut sampler); // re-initialised with GPU 0 only
                                   // A scrape: the recorder notes when it last saw each series change, so removal needs a
                                   // scrape that sees the last update and one more after the idle timeout.
    handle.render();
    std::thread::sleep(Duration::from_millis(1500));
    tick(&recorder, &mut sampler);
    let text = handle.render();

    let usage = samples(&text, "gpu_usage_percent");
    assert_eq!(usage.len(), 1, "{text}");
    assert!(usage[0].contains("gpu=\"0\""), "{text}");
    assert!(!text.contains("GPU-bbbb"), "{text}");
    let available = samples(&text, "gpu_sampler_available");
    assert_eq!(
        available,
        vec!["gpu_sampler_available{reason=\"ok\"} 1".to_owned()]
    );
}
