//! Cost of one sampler tick without a GPU (system + process + container collectors).
//!
//! Run: `cargo bench --bench sampler -- --warm-up-time 1 --measurement-time 3`
//!
//! Criterion reports wall time per back-to-back tick (where sysinfo skips the system CPU refresh
//! because of its minimum refresh interval). Before the criterion group, this bench also prints
//! the *CPU* time of full ticks (spaced 220 ms apart, so the CPU refresh happens), in total and
//! per collector, which is what the 200 µs goal is about.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use metrics_exporter_prometheus::PrometheusBuilder;
use recwatch::sampler::{Sampler, SamplerBuilder};

fn sampler() -> Sampler {
    only(true, true, true)
}

fn only(system: bool, process: bool, container: bool) -> Sampler {
    let mut s = SamplerBuilder::new()
        .with_system(system)
        .with_process(process)
        .with_container(container)
        .with_gpu(false)
        .build();
    // Past the first (baseline) CPU reading so the measured ticks do the full work.
    std::thread::sleep(Duration::from_millis(250));
    s.tick();
    s
}

/// Process CPU time (user + system) in seconds.
fn cpu_time() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_PROCESS_CPUTIME_ID is always supported
    // on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0);
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

fn print_cpu_per_tick() {
    let recorder = PrometheusBuilder::new().build_recorder();
    metrics::with_local_recorder(&recorder, || {
        // Full ticks: spaced past sysinfo's minimum CPU refresh interval, so every tick also
        // refreshes system CPU usage (what happens at the default 5 s interval).
        const FULL: usize = 25;
        for (what, mut s) in [
            ("full tick", sampler()),
            ("  system only", only(true, false, false)),
            ("  process only", only(false, true, false)),
            ("  container only", only(false, false, true)),
        ] {
            let mut spent = Vec::with_capacity(FULL);
            for _ in 0..FULL {
                std::thread::sleep(Duration::from_millis(220));
                let start = cpu_time();
                s.tick();
                spent.push(cpu_time() - start);
            }
            let mean = spent.iter().sum::<f64>() / FULL as f64;
            spent.sort_by(f64::total_cmp);
            println!(
                "sampler {what} (no GPU, prometheus recorder): CPU per tick mean {:.1} µs, median {:.1} µs (n = {FULL})",
                mean * 1e6,
                spent[FULL / 2] * 1e6
            );
        }

        // Back-to-back ticks: system CPU refresh skipped (minimum interval), slow tier every 6th.
        let mut s = sampler();
        const N: u32 = 2000;
        let start = cpu_time();
        for _ in 0..N {
            s.tick();
        }
        println!(
            "sampler back-to-back tick (no GPU, prometheus recorder): {:.1} µs CPU per tick (mean of {N})",
            (cpu_time() - start) / f64::from(N) * 1e6
        );
    });
}

fn bench_tick(c: &mut Criterion) {
    print_cpu_per_tick();

    let mut group = c.benchmark_group("sampler_tick_no_gpu");
    let mut s = sampler();
    group.bench_function("noop_recorder", |b| b.iter(|| black_box(&mut s).tick()));

    let recorder = PrometheusBuilder::new().build_recorder();
    let mut s = sampler();
    metrics::with_local_recorder(&recorder, || {
        group.bench_function("prometheus_recorder", |b| {
            b.iter(|| black_box(&mut s).tick())
        });
    });
    group.finish();
}

criterion_group!(benches, bench_tick);
criterion_main!(benches);
