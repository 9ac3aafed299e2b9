//! Resource sampler: system, process, container and NVIDIA GPU metrics, sampled in-process on
//! a dedicated, named OS thread (never an async runtime worker).
//!
//! Start it once at service start-up and keep the [`SamplerHandle`]; dropping the handle (or
//! calling [`SamplerHandle::shutdown`]) stops the thread with a bounded wait, even if a driver
//! call hangs. Metrics go through the [`metrics`] facade to whichever recorder the application
//! installed (for example `recwatch::exporter`).
//!
//! ```no_run
//! use std::time::Duration;
//! use recwatch::sampler::SamplerBuilder;
//!
//! let handle = SamplerBuilder::new()
//!     .with_interval(Duration::from_secs(5))
//!     .spawn()?;
//! // ... serve traffic; /metrics now has system_*, process_*, container_* and gpu_* series ...
//! handle.shutdown(Duration::from_secs(2))?;
//! # Ok::<(), recwatch::sampler::SamplerError>(())
//! ```
//!
//! # Tiers
//!
//! Identity is read once (process start time, page size, cgroup layout, GPU identity once per
//! NVML epoch); fast fields every tick (CPU, memory, GPU utilisation, memory and power); slow
//! fields every [`SamplerBuilder::with_slow_every`] ticks (open fds, cgroup limits, GPU
//! temperature, energy and per-process GPU memory). Slow values are republished every tick.
//!
//! # Truthful readings
//!
//! A value that cannot be read is absent, never 0: unsupported GPU fields are not set, CPU usage
//! is not published before a second reading exists, and container gauges appear only when a
//! cgroup limit is set. `gpu_sampler_available{reason}` says whether GPUs are sampled
//! (`1`, `reason="ok"`) or why not (`0` with `library_missing`, `driver_not_loaded`,
//! `no_permission`, `no_devices` or `error`). Without a GPU backend (feature `nvml` off and none
//! configured) no `gpu_*` series are published at all.
//!
//! # Series of a GPU that disappeared
//!
//! The `metrics` facade cannot delete a series. The sampler stops updating the series of a GPU
//! (or `gpu_sampler_available` reason) that is gone and never re-registers them; the exporter
//! removes them with an idle timeout on gauges — see [`SamplerBuilder::recommended_idle_timeout`]
//! and `docs/sampler.md`.
//!
//! # Self-metrics
//!
//! `recwatch_sampler_tick_duration_seconds` (histogram), `recwatch_sampler_ticks_total` and
//! `recwatch_sampler_errors_total{collector}` (`system`, `process`, `container`, `gpu`).

mod cgroup;
mod error;
mod file;
mod gpu;
mod process;
mod system;

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use error::{GpuBackendCause, SamplerError};
#[cfg(feature = "nvml")]
pub use gpu::NvmlBackend;
pub use gpu::{
    GpuAvailability, GpuBackend, GpuDevice, GpuErrorKind, GpuFastReadings, GpuField, GpuProcess,
    GpuSlowReadings,
};

use crate::catalogue;
use cgroup::ContainerCollector;
use gpu::GpuCollector;
use process::ProcessCollector;
use system::SystemCollector;

/// Default sampling interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// Delay of the first tick after start (or the interval, if shorter): long enough for a
/// meaningful CPU reading, short enough for `/metrics` to be populated soon after start.
const FIRST_TICK_DELAY: Duration = Duration::from_secs(1);
/// Default name of the sampler thread.
pub const DEFAULT_THREAD_NAME: &str = "recwatch-sampler";

/// Which GPU backend to use.
enum GpuChoice {
    /// The default: NVML with feature `nvml`, none otherwise.
    Default,
    None,
    Custom(Box<dyn GpuBackend>),
}

/// Configures and starts the sampler.
///
/// ```
/// use std::time::Duration;
/// use recwatch::sampler::SamplerBuilder;
///
/// let mut sampler = SamplerBuilder::new()
///     .with_interval(Duration::from_secs(10))
///     .with_gpu(false)
///     .build();
/// sampler.tick(); // one synchronous tick on this thread
/// ```
#[must_use = "a builder does nothing until `build` or `spawn` is called"]
pub struct SamplerBuilder {
    interval: Duration,
    slow_every: u32,
    thread_name: String,
    shutdown_timeout: Duration,
    system: bool,
    process: bool,
    container: bool,
    cgroup_root: PathBuf,
    proc_root: PathBuf,
    gpu: GpuChoice,
    gpu_backoff: (Duration, Duration),
}

impl std::fmt::Debug for SamplerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SamplerBuilder")
            .field("interval", &self.interval)
            .field("slow_every", &self.slow_every)
            .field("thread_name", &self.thread_name)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("system", &self.system)
            .field("process", &self.process)
            .field("container", &self.container)
            .field("cgroup_root", &self.cgroup_root)
            .field("proc_root", &self.proc_root)
            .finish_non_exhaustive()
    }
}

impl Default for SamplerBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl SamplerBuilder {
    /// A builder with the defaults.
    pub fn new() -> Self {
        SamplerBuilder {
            interval: DEFAULT_INTERVAL,
            slow_every: 6,
            thread_name: DEFAULT_THREAD_NAME.to_owned(),
            shutdown_timeout: Duration::from_secs(2),
            system: true,
            process: true,
            container: true,
            cgroup_root: PathBuf::from("/sys/fs/cgroup"),
            proc_root: PathBuf::from("/proc"),
            gpu: GpuChoice::Default,
            gpu_backoff: (Duration::from_secs(5), Duration::from_secs(300)),
        }
    }

    /// Sets the time between ticks. Values below 100 ms are raised to 100 ms.
    ///
    /// Defaults to 5 seconds.
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Duration::from_millis(100));
        self
    }

    /// Reads the slow fields every `n` ticks (at least 1).
    ///
    /// Defaults to 6 (every 30 seconds at the default interval).
    pub fn with_slow_every(mut self, n: u32) -> Self {
        self.slow_every = n.max(1);
        self
    }

    /// Sets the sampler thread's name.
    ///
    /// Defaults to `"recwatch-sampler"`.
    pub fn with_thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = name.into();
        self
    }

    /// Sets how long dropping the [`SamplerHandle`] waits for the thread to stop.
    ///
    /// Defaults to 2 seconds.
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Enables or disables system CPU and memory metrics.
    ///
    /// Defaults to enabled.
    pub fn with_system(mut self, enabled: bool) -> Self {
        self.system = enabled;
        self
    }

    /// Enables or disables `process_*` metrics.
    ///
    /// Defaults to enabled (Linux only; elsewhere nothing is published).
    pub fn with_process(mut self, enabled: bool) -> Self {
        self.process = enabled;
        self
    }

    /// Enables or disables `container_*` (cgroup) metrics.
    ///
    /// Defaults to enabled.
    pub fn with_container(mut self, enabled: bool) -> Self {
        self.container = enabled;
        self
    }

    /// Reads cgroup files below this directory.
    ///
    /// Defaults to `/sys/fs/cgroup`.
    pub fn with_cgroup_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.cgroup_root = root.into();
        self
    }

    /// Reads process files below this directory (`<root>/self/stat`, `<root>/stat`, …).
    ///
    /// Defaults to `/proc`.
    pub fn with_proc_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.proc_root = root.into();
        self
    }

    /// Samples GPUs through this backend.
    ///
    /// Defaults to [`NvmlBackend`](https://docs.rs/recwatch/latest/recwatch/sampler/struct.NvmlBackend.html)
    /// with feature `nvml`, and to no GPU sampling without it.
    pub fn with_gpu_backend(mut self, backend: impl GpuBackend) -> Self {
        self.gpu = GpuChoice::Custom(Box::new(backend));
        self
    }

    /// Turns GPU sampling off (`false`: no `gpu_*` series at all) or back to the default
    /// backend (`true`). Defaults to on with feature `nvml`.
    pub fn with_gpu(mut self, enabled: bool) -> Self {
        self.gpu = if enabled {
            GpuChoice::Default
        } else {
            GpuChoice::None
        };
        self
    }

    /// Sets the backoff between GPU (re-)initialisation attempts: starts at `initial`, doubles
    /// after each failure, capped at `max`.
    ///
    /// Defaults to 5 seconds, capped at 5 minutes.
    pub fn with_gpu_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.gpu_backoff = (initial, max.max(initial));
        self
    }

    /// The idle timeout the exporter should use for `gpu_*` gauges so that series of a GPU
    /// that disappeared stop being exported: three intervals, at least 15 seconds.
    ///
    /// ```
    /// use std::time::Duration;
    /// use recwatch::sampler::SamplerBuilder;
    ///
    /// let b = SamplerBuilder::new().with_interval(Duration::from_secs(10));
    /// assert_eq!(b.recommended_idle_timeout(), Duration::from_secs(30));
    /// ```
    pub fn recommended_idle_timeout(&self) -> Duration {
        (self.interval * 3).max(Duration::from_secs(15))
    }

    /// Builds a [`Sampler`] to drive synchronously with [`Sampler::tick`] (tests, custom
    /// schedulers). Takes the baseline readings now.
    pub fn build(self) -> Sampler {
        let now = Instant::now();
        let gpu_backend: Option<Box<dyn GpuBackend>> = match self.gpu {
            GpuChoice::Custom(b) => Some(b),
            GpuChoice::None => None,
            #[cfg(feature = "nvml")]
            GpuChoice::Default => Some(Box::new(NvmlBackend::new())),
            #[cfg(not(feature = "nvml"))]
            GpuChoice::Default => None,
        };
        let process = (self.process && cfg!(target_os = "linux"))
            .then(|| ProcessCollector::new(&self.proc_root));
        let container = if self.container {
            Some(ContainerCollector::new(&self.cgroup_root, &self.proc_root))
                .filter(|c| c.is_present())
        } else {
            None
        };
        let gpu = gpu_backend.map(|b| {
            GpuCollector::new(
                b,
                self.gpu_backoff.0,
                self.gpu_backoff.1,
                process::own_pids(&self.proc_root),
                now,
            )
        });
        Sampler {
            interval: self.interval,
            slow_every: self.slow_every,
            thread_name: self.thread_name,
            shutdown_timeout: self.shutdown_timeout,
            ticks: 0,
            system: self.system.then(|| SystemCollector::new(now)),
            process,
            container,
            gpu,
        }
    }

    /// Builds the sampler and starts it on its own named thread.
    ///
    /// The first tick happens one second after start (or one interval, if shorter), so that
    /// CPU usage has a meaningful baseline; then every interval.
    ///
    /// # Errors
    ///
    /// [`SamplerError::Spawn`] if the thread cannot be spawned.
    ///
    /// ```no_run
    /// let handle = recwatch::sampler::SamplerBuilder::new().spawn()?;
    /// # Ok::<(), recwatch::sampler::SamplerError>(())
    /// ```
    pub fn spawn(self) -> Result<SamplerHandle, SamplerError> {
        self.build().spawn()
    }
}

/// Starts a sampler with the default configuration. Shorthand for
/// `SamplerBuilder::new().spawn()`.
///
/// # Errors
///
/// [`SamplerError::Spawn`] if the thread cannot be spawned.
///
/// ```no_run
/// let handle = recwatch::sampler::spawn()?;
/// # Ok::<(), recwatch::sampler::SamplerError>(())
/// ```
pub fn spawn() -> Result<SamplerHandle, SamplerError> {
    SamplerBuilder::new().spawn()
}

/// The sampler's collectors, driven one tick at a time.
///
/// [`Sampler::tick`] runs on the calling thread and publishes to that thread's current
/// recorder, which makes it testable with `metrics::with_local_recorder`.
///
/// ```
/// use metrics_util::debugging::DebuggingRecorder;
/// use recwatch::sampler::SamplerBuilder;
///
/// let recorder = DebuggingRecorder::new();
/// let snapshotter = recorder.snapshotter();
/// let mut sampler = SamplerBuilder::new().with_gpu(false).build();
/// metrics::with_local_recorder(&recorder, || sampler.tick());
/// assert!(!snapshotter.snapshot().into_vec().is_empty());
/// ```
pub struct Sampler {
    interval: Duration,
    slow_every: u32,
    thread_name: String,
    shutdown_timeout: Duration,
    ticks: u64,
    system: Option<SystemCollector>,
    process: Option<ProcessCollector>,
    container: Option<ContainerCollector>,
    gpu: Option<GpuCollector>,
}

impl std::fmt::Debug for Sampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sampler")
            .field("interval", &self.interval)
            .field("ticks", &self.ticks)
            .field("system", &self.system.is_some())
            .field("process", &self.process.is_some())
            .field("container", &self.container.is_some())
            .field("gpu", &self.gpu_availability())
            .finish_non_exhaustive()
    }
}

impl Sampler {
    /// Runs one tick on the current thread: reads what is due and publishes it.
    pub fn tick(&mut self) {
        let started = Instant::now();
        let slow = self.ticks % u64::from(self.slow_every) == 0;
        self.ticks += 1;
        if let Some(c) = &mut self.system {
            count_errors("system", c.tick(started));
        }
        if let Some(c) = &mut self.process {
            count_errors("process", c.tick(slow));
        }
        if let Some(c) = &mut self.container {
            count_errors("container", c.tick(started, slow));
        }
        if let Some(c) = &mut self.gpu {
            c.tick(started, slow);
            count_errors("gpu", std::mem::take(&mut c.errors));
        }
        metrics::counter!(catalogue::SAMPLER_TICKS_TOTAL.name).increment(1);
        metrics::histogram!(catalogue::SAMPLER_TICK_DURATION_SECONDS.name)
            .record(started.elapsed().as_secs_f64());
    }

    /// The number of ticks run so far.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// The GPU availability after the last tick (`None` without a GPU backend).
    pub fn gpu_availability(&self) -> Option<GpuAvailability> {
        self.gpu.as_ref().map(|g| g.availability())
    }

    /// Starts ticking on a new named thread; see [`SamplerBuilder::spawn`].
    ///
    /// # Errors
    ///
    /// [`SamplerError::Spawn`] if the thread cannot be spawned.
    pub fn spawn(self) -> Result<SamplerHandle, SamplerError> {
        let shared = Arc::new(Shared::default());
        let thread_shared = Arc::clone(&shared);
        let interval = self.interval;
        let shutdown_timeout = self.shutdown_timeout;
        let join = std::thread::Builder::new()
            .name(self.thread_name.clone())
            .spawn(move || {
                // Marks the thread done even if a tick panics.
                let _done = DoneGuard(Arc::clone(&thread_shared));
                // Declared after the guard so it is dropped (GPU backend shut down) first.
                let mut sampler = self;
                let mut next = Instant::now() + interval.min(FIRST_TICK_DELAY);
                loop {
                    {
                        let mut stop = lock(&thread_shared.stop);
                        loop {
                            if *stop {
                                return;
                            }
                            let now = Instant::now();
                            if now >= next {
                                break;
                            }
                            stop = thread_shared
                                .stop_cv
                                .wait_timeout(stop, next - now)
                                .map(|(g, _)| g)
                                .unwrap_or_else(|e| e.into_inner().0);
                        }
                    }
                    sampler.tick();
                    next += interval;
                    let now = Instant::now();
                    if next < now {
                        // Fell behind (slow tick or suspended machine): skip, do not burst.
                        next = now + interval;
                    }
                }
            })
            .map_err(SamplerError::Spawn)?;
        Ok(SamplerHandle {
            shared,
            join: Some(join),
            shutdown_timeout,
        })
    }
}

fn count_errors(collector: &'static str, n: u64) {
    if n > 0 {
        metrics::counter!(catalogue::SAMPLER_ERRORS_TOTAL.name, catalogue::SAMPLER_ERRORS_TOTAL.labels[0] => collector).increment(n);
    }
}

#[derive(Default)]
struct Shared {
    stop: Mutex<bool>,
    stop_cv: Condvar,
    done: Mutex<bool>,
    done_cv: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

struct DoneGuard(Arc<Shared>);

impl Drop for DoneGuard {
    fn drop(&mut self) {
        *lock(&self.0.done) = true;
        self.0.done_cv.notify_all();
    }
}

/// The running sampler thread.
///
/// As every handle of a background task in recwatch: dropping it stops the thread (waiting at
/// most the shutdown timeout, see [`SamplerBuilder::with_shutdown_timeout`]);
/// [`detach`](Self::detach) keeps it sampling for the rest of the process;
/// [`shutdown`](Self::shutdown) stops it and reports how that went.
///
/// ```no_run
/// use std::time::Duration;
///
/// let handle = recwatch::sampler::spawn()?;
/// assert!(handle.is_running());
/// handle.shutdown(Duration::from_secs(1))?;
/// # Ok::<(), recwatch::sampler::SamplerError>(())
/// ```
#[derive(Debug)]
#[must_use = "dropping the handle stops the sampler; call `detach` to keep it running"]
pub struct SamplerHandle {
    shared: Arc<Shared>,
    join: Option<JoinHandle<()>>,
    shutdown_timeout: Duration,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("stop", &*lock(&self.stop))
            .field("done", &*lock(&self.done))
            .finish()
    }
}

impl SamplerHandle {
    /// Whether the sampler thread is still running.
    pub fn is_running(&self) -> bool {
        !*lock(&self.shared.done)
    }

    /// The sampler thread's name.
    pub fn thread_name(&self) -> Option<&str> {
        self.join.as_ref().and_then(|j| j.thread().name())
    }

    /// Keeps the sampler running for the rest of the process.
    pub fn detach(mut self) {
        self.join.take();
    }

    /// Stops the sampler and waits at most `timeout` for its thread to finish.
    ///
    /// # Errors
    ///
    /// [`SamplerError::ShutdownTimedOut`] if the thread is still busy (for example in a hung
    /// driver call) after `timeout`; it is then detached and exits when the call returns.
    /// [`SamplerError::Panicked`] if the thread panicked.
    pub fn shutdown(mut self, timeout: Duration) -> Result<(), SamplerError> {
        self.stop(timeout)
    }

    fn stop(&mut self, timeout: Duration) -> Result<(), SamplerError> {
        let Some(join) = self.join.take() else {
            return Ok(());
        };
        *lock(&self.shared.stop) = true;
        self.shared.stop_cv.notify_all();
        let deadline = Instant::now() + timeout;
        let mut done = lock(&self.shared.done);
        while !*done {
            let now = Instant::now();
            if now >= deadline {
                // Detach: dropping the JoinHandle lets the thread finish on its own.
                return Err(SamplerError::ShutdownTimedOut { timeout });
            }
            done = self
                .shared
                .done_cv
                .wait_timeout(done, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        drop(done);
        // `done` is set by the last statement of the thread, so this join returns at once.
        join.join().map_err(|_| SamplerError::Panicked)
    }
}

impl Drop for SamplerHandle {
    fn drop(&mut self) {
        let _ = self.stop(self.shutdown_timeout);
    }
}
