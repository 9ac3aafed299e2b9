//! Process metrics with the Prometheus standard names, read from `/proc/self` (Linux).
//!
//! | name | type | tier |
//! |---|---|---|
//! | `process_cpu_seconds_total` | gauge (fractional; see below) | fast |
//! | `process_resident_memory_bytes` | gauge | fast |
//! | `process_virtual_memory_bytes` | gauge | fast |
//! | `process_threads` | gauge | fast |
//! | `process_open_fds` | gauge | slow |
//! | `process_max_fds` | gauge | slow |
//! | `process_start_time_seconds` | gauge | identity |
//!
//! `process_cpu_seconds_total` is exported as a gauge holding fractional seconds: the `metrics`
//! facade's counters are integers and truncating CPU time to whole seconds makes `rate()` useless
//! for a mostly idle process.

use crate::catalogue;
use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::file::ReReadable;
use super::SamplerError;

/// `USER_HZ` when `/proc/self/auxv` cannot be read (it is 100 on every mainstream Linux port).
const DEFAULT_CLOCK_TICKS: u64 = 100;
/// Page size when `/proc/self/auxv` cannot be read.
const DEFAULT_PAGE_SIZE: u64 = 4096;
const AT_PAGESZ: u64 = 6;
const AT_CLKTCK: u64 = 17;

/// Fields of `/proc/<pid>/stat` that the sampler uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Stat {
    pub(crate) utime_ticks: u64,
    pub(crate) stime_ticks: u64,
    pub(crate) threads: u64,
    pub(crate) start_ticks: u64,
    pub(crate) vsize_bytes: u64,
    pub(crate) rss_pages: u64,
}

/// Parses `/proc/<pid>/stat`. The command name (field 2) may contain spaces and parentheses, so
/// the fields are counted from the last `)`.
pub(crate) fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    // `fields[0]` is field 3 (state) of proc(5).
    let get = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        utime_ticks: get(14)?,
        stime_ticks: get(15)?,
        threads: get(20)?,
        start_ticks: get(22)?,
        vsize_bytes: get(23)?,
        rss_pages: get(24)?,
    })
}

/// Parses the `btime` line of `/proc/stat` (boot time, seconds since the epoch).
pub(crate) fn parse_btime(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("btime"))
        .and_then(|v| v.trim().parse().ok())
}

/// Parses the soft `Max open files` limit of `/proc/<pid>/limits` (`None` if unlimited).
pub(crate) fn parse_max_fds(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Parses the `NSpid` line of `/proc/<pid>/status`: this process's pid in every pid namespace
/// it belongs to, outermost visible first.
pub(crate) fn parse_nspids(text: &str) -> Vec<u32> {
    text.lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .map(|v| {
            v.split_ascii_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Parses `AT_PAGESZ` and `AT_CLKTCK` out of `/proc/<pid>/auxv` (native-endian word pairs).
pub(crate) fn parse_auxv(bytes: &[u8]) -> (Option<u64>, Option<u64>) {
    const W: usize = std::mem::size_of::<usize>();
    let word = |chunk: &[u8]| -> u64 {
        let mut buf = [0u8; W];
        buf.copy_from_slice(chunk);
        usize::from_ne_bytes(buf) as u64
    };
    let (mut page, mut clk) = (None, None);
    for pair in bytes.chunks_exact(2 * W) {
        let (key, value) = (word(&pair[..W]), word(&pair[W..]));
        match key {
            0 => break,
            AT_PAGESZ => page = Some(value),
            AT_CLKTCK => clk = Some(value),
            _ => {}
        }
    }
    (page, clk)
}

/// The pids this process may appear under in a GPU driver's process list: `std::process::id()`
/// plus every `NSpid` entry of `<proc_root>/self/status`.
pub(crate) fn own_pids(proc_root: &Path) -> HashSet<u32> {
    let mut pids: HashSet<u32> = [std::process::id()].into_iter().collect();
    if let Ok(status) = fs::read_to_string(proc_root.join("self/status")) {
        pids.extend(parse_nspids(&status));
    }
    pids
}

/// Reads and publishes the process metrics.
pub(crate) struct ProcessCollector {
    stat: ReReadable,
    fd_dir: PathBuf,
    limits_path: PathBuf,
    clock_ticks: f64,
    page_size: u64,
    start_time_seconds: Option<f64>,
    open_fds: Option<u64>,
    max_fds: Option<u64>,
}

impl ProcessCollector {
    /// Reads the identity fields (clock ticks, page size, start time) once.
    pub(crate) fn new(proc_root: &Path) -> Self {
        let me = proc_root.join("self");
        let (page, clk) = fs::read(me.join("auxv"))
            .map(|b| parse_auxv(&b))
            .unwrap_or((None, None));
        let clock_ticks = clk.filter(|&c| c > 0).unwrap_or(DEFAULT_CLOCK_TICKS) as f64;
        let stat_path = me.join("stat");
        let start_time_seconds = fs::read_to_string(&stat_path)
            .ok()
            .and_then(|t| parse_stat(&t))
            .zip(
                fs::read_to_string(proc_root.join("stat"))
                    .ok()
                    .and_then(|t| parse_btime(&t)),
            )
            .map(|(stat, btime)| btime as f64 + stat.start_ticks as f64 / clock_ticks);
        ProcessCollector {
            stat: ReReadable::new(stat_path),
            fd_dir: me.join("fd"),
            limits_path: me.join("limits"),
            clock_ticks,
            page_size: page.filter(|&p| p > 0).unwrap_or(DEFAULT_PAGE_SIZE),
            start_time_seconds,
            open_fds: None,
            max_fds: None,
        }
    }

    /// Reads the fast fields (and the slow ones when `slow`), publishes everything known.
    /// Returns the number of errors.
    pub(crate) fn tick(&mut self, slow: bool) -> u64 {
        let mut errors = 0;
        if slow || self.open_fds.is_none() {
            self.open_fds = match fs::read_dir(&self.fd_dir) {
                // The directory handle used for reading is itself one open fd; do not count it.
                // (The sampler's own kept-open `/proc` and cgroup files are counted: they are
                // open.)
                Ok(dir) => Some((dir.count() as u64).saturating_sub(1)),
                Err(_) => {
                    errors += 1;
                    None
                }
            };
            self.max_fds = fs::read_to_string(&self.limits_path)
                .ok()
                .and_then(|t| parse_max_fds(&t));
        }
        match self.read_stat() {
            Ok(stat) => {
                let cpu = (stat.utime_ticks + stat.stime_ticks) as f64 / self.clock_ticks;
                metrics::gauge!(catalogue::PROCESS_CPU_SECONDS_TOTAL.name).set(cpu);
                metrics::gauge!(catalogue::PROCESS_RESIDENT_MEMORY_BYTES.name)
                    .set((stat.rss_pages * self.page_size) as f64);
                metrics::gauge!(catalogue::PROCESS_VIRTUAL_MEMORY_BYTES.name)
                    .set(stat.vsize_bytes as f64);
                metrics::gauge!(catalogue::PROCESS_THREADS.name).set(stat.threads as f64);
            }
            Err(_) => errors += 1,
        }
        if let Some(n) = self.open_fds {
            metrics::gauge!(catalogue::PROCESS_OPEN_FDS.name).set(n as f64);
        }
        if let Some(n) = self.max_fds {
            metrics::gauge!(catalogue::PROCESS_MAX_FDS.name).set(n as f64);
        }
        if let Some(t) = self.start_time_seconds {
            metrics::gauge!(catalogue::PROCESS_START_TIME_SECONDS.name).set(t);
        }
        errors
    }

    fn read_stat(&mut self) -> Result<Stat, SamplerError> {
        match self.stat.read() {
            Ok(text) => parse_stat(text),
            Err(e) => return Err(SamplerError::read(self.stat.path(), e)),
        }
        .ok_or_else(|| SamplerError::parse(self.stat.path(), "proc(5) stat fields"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (my (weird) proc) S 1 4242 4242 0 -1 4194560 5000 0 0 0 \
        1234 567 0 0 20 0 17 0 987654 123456789 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 3 0 0 0 0 0";

    #[test]
    fn parses_stat_with_parentheses_in_name() {
        let s = parse_stat(STAT).unwrap();
        assert_eq!(s.utime_ticks, 1234);
        assert_eq!(s.stime_ticks, 567);
        assert_eq!(s.threads, 17);
        assert_eq!(s.start_ticks, 987654);
        assert_eq!(s.vsize_bytes, 123456789);
        assert_eq!(s.rss_pages, 2048);
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn parses_small_files() {
        assert_eq!(
            parse_btime("cpu 1 2 3\nbtime 1700000000\nprocesses 9\n"),
            Some(1_700_000_000)
        );
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max open files            1024                 1048576              files     \n";
        assert_eq!(parse_max_fds(limits), Some(1024));
        assert_eq!(
            parse_nspids("Name:\tx\nNSpid:\t81234\t17\nNSgid:\t1\n"),
            vec![81234, 17]
        );
        assert!(parse_nspids("Name:\tx\n").is_empty());
    }

    #[test]
    fn parses_auxv() {
        let mut bytes = Vec::new();
        for w in [AT_PAGESZ, 16384, AT_CLKTCK, 250, 0, 0] {
            bytes.extend_from_slice(&(w as usize).to_ne_bytes());
        }
        assert_eq!(parse_auxv(&bytes), (Some(16384), Some(250)));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let mut c = ProcessCollector::new(Path::new("/proc"));
        let stat = c.read_stat().unwrap();
        assert!(stat.threads >= 1);
        assert!(c.start_time_seconds.unwrap() > 1_000_000_000.0);
        assert!(own_pids(Path::new("/proc")).contains(&std::process::id()));
    }
}
