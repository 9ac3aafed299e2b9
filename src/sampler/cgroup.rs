//! Container metrics from cgroup v2 (unified) or v1 controllers.
//!
//! | name | type | tier | when |
//! |---|---|---|---|
//! | `container_cpu_limit_cores` | gauge | slow | a CPU quota is set |
//! | `container_cpu_usage_seconds_total` | gauge (fractional) | fast | always |
//! | `container_cpu_usage_percent` | gauge, 0–100 of the quota | fast | a quota is set, from the 2nd tick |
//! | `container_memory_limit_bytes` | gauge | slow | a memory limit is set |
//! | `container_memory_usage_bytes` | gauge | fast | always |
//! | `container_memory_usage_percent` | gauge, 0–100 of the limit | fast | a limit is set |
//!
//! Files are read below a configurable root (default `/sys/fs/cgroup`). The process's own cgroup
//! (from `<proc root>/self/cgroup`) is used when that directory exists below the root; otherwise
//! the root itself is read, which is what a container with its own cgroup namespace sees.

use crate::catalogue;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::file::ReReadable;

/// cgroup v1 reports "no limit" as a page-aligned `i64::MAX`; anything this large is unlimited.
const V1_UNLIMITED: u64 = 1 << 62;

#[derive(Debug, Clone, PartialEq)]
enum Layout {
    /// cgroup v2: everything in one directory.
    V2 { dir: PathBuf },
    /// cgroup v1: one directory per controller (each optional).
    V1 {
        cpu: Option<PathBuf>,
        cpuacct: Option<PathBuf>,
        memory: Option<PathBuf>,
    },
}

/// Parses v2 `cpu.max` (`"max 100000"` or `"250000 100000"`) into cores.
pub(crate) fn parse_cpu_max(text: &str) -> Option<f64> {
    let mut it = text.split_ascii_whitespace();
    let quota = it.next()?;
    let period: f64 = it.next()?.parse().ok()?;
    if quota == "max" || period <= 0.0 {
        return None;
    }
    let quota: f64 = quota.parse().ok()?;
    (quota > 0.0).then(|| quota / period)
}

/// Parses `usage_usec` of v2 `cpu.stat` into seconds.
pub(crate) fn parse_cpu_stat_usage(text: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix("usage_usec "))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|us| us as f64 / 1e6)
}

/// Parses a v2 memory limit (`"max"` is unlimited).
pub(crate) fn parse_v2_limit(text: &str) -> Option<u64> {
    let t = text.trim();
    if t == "max" {
        None
    } else {
        t.parse().ok()
    }
}

fn read_trim(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
}

fn read_u64(path: &Path) -> Option<u64> {
    read_trim(path)?.parse().ok()
}

/// Finds the cgroup path of `controller` in `/proc/self/cgroup` content (`""` for v2).
fn self_path<'a>(self_cgroup: &'a str, controller: &str) -> Option<&'a str> {
    self_cgroup.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_id, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
        let matches = if controller.is_empty() {
            ctrls.is_empty()
        } else {
            ctrls.split(',').any(|c| c == controller)
        };
        matches.then_some(path)
    })
}

/// `base/<path>` if it exists, else `base`.
fn own_dir(base: &Path, path: Option<&str>, probe: &str) -> PathBuf {
    if let Some(p) = path
        .map(|p| p.trim_start_matches('/'))
        .filter(|p| !p.is_empty())
    {
        let dir = base.join(p);
        if dir.join(probe).exists() {
            return dir;
        }
    }
    base.to_path_buf()
}

fn detect(root: &Path, self_cgroup: &str) -> Option<Layout> {
    if root.join("cgroup.controllers").exists() {
        return Some(Layout::V2 {
            dir: own_dir(root, self_path(self_cgroup, ""), "cgroup.controllers"),
        });
    }
    let find = |controller: &str, probe: &str| -> Option<PathBuf> {
        let mounts = [
            controller.to_owned(),
            "cpu,cpuacct".to_owned(),
            "cpuacct,cpu".to_owned(),
        ];
        mounts.iter().map(|m| root.join(m)).find_map(|base| {
            let dir = own_dir(&base, self_path(self_cgroup, controller), probe);
            dir.join(probe).exists().then_some(dir)
        })
    };
    let cpu = find("cpu", "cpu.cfs_quota_us");
    let cpuacct = find("cpuacct", "cpuacct.usage");
    let memory = find("memory", "memory.usage_in_bytes");
    if cpu.is_none() && cpuacct.is_none() && memory.is_none() {
        // A unified hierarchy mounted below the root (hybrid systems) has no memory/cpu files
        // of its own worth reading; report nothing rather than guess.
        return None;
    }
    Some(Layout::V1 {
        cpu,
        cpuacct,
        memory,
    })
}

/// Reads and publishes the container metrics.
pub(crate) struct ContainerCollector {
    layout: Option<Layout>,
    /// CPU usage file (v2 `cpu.stat`, v1 `cpuacct.usage`), kept open.
    cpu_usage: Option<ReReadable>,
    /// Memory usage file (v2 `memory.current`, v1 `memory.usage_in_bytes`), kept open.
    memory_usage: Option<ReReadable>,
    cpu_limit_cores: Option<f64>,
    memory_limit_bytes: Option<u64>,
    limits_read: bool,
    last_cpu: Option<(Instant, f64)>,
}

impl ContainerCollector {
    /// Detects the cgroup layout once.
    pub(crate) fn new(cgroup_root: &Path, proc_root: &Path) -> Self {
        let self_cgroup = fs::read_to_string(proc_root.join("self/cgroup")).unwrap_or_default();
        let layout = detect(cgroup_root, &self_cgroup);
        let (cpu_usage, memory_usage) = match &layout {
            Some(Layout::V2 { dir }) => {
                (Some(dir.join("cpu.stat")), Some(dir.join("memory.current")))
            }
            Some(Layout::V1 {
                cpuacct, memory, ..
            }) => (
                cpuacct.as_ref().map(|d| d.join("cpuacct.usage")),
                memory.as_ref().map(|d| d.join("memory.usage_in_bytes")),
            ),
            None => (None, None),
        };
        ContainerCollector {
            cpu_usage: cpu_usage.map(ReReadable::new),
            memory_usage: memory_usage.map(ReReadable::new),
            layout,
            cpu_limit_cores: None,
            memory_limit_bytes: None,
            limits_read: false,
            last_cpu: None,
        }
    }

    /// Whether any cgroup controller was found.
    pub(crate) fn is_present(&self) -> bool {
        self.layout.is_some()
    }

    fn read_limits(&mut self) {
        let (cpu, mem) = match &self.layout {
            Some(Layout::V2 { dir }) => (
                read_trim(&dir.join("cpu.max")).and_then(|t| parse_cpu_max(&t)),
                read_trim(&dir.join("memory.max")).and_then(|t| parse_v2_limit(&t)),
            ),
            Some(Layout::V1 { cpu, memory, .. }) => (
                cpu.as_ref().and_then(|d| {
                    let quota: i64 = read_trim(&d.join("cpu.cfs_quota_us"))?.parse().ok()?;
                    let period = read_u64(&d.join("cpu.cfs_period_us"))?;
                    (quota > 0 && period > 0).then(|| quota as f64 / period as f64)
                }),
                memory
                    .as_ref()
                    .and_then(|d| read_u64(&d.join("memory.limit_in_bytes")))
                    .filter(|&l| l < V1_UNLIMITED),
            ),
            None => (None, None),
        };
        self.cpu_limit_cores = cpu;
        self.memory_limit_bytes = mem;
        self.limits_read = true;
    }

    fn read_usage(&mut self) -> (Option<f64>, Option<u64>) {
        let v2 = matches!(self.layout, Some(Layout::V2 { .. }));
        let cpu = self.cpu_usage.as_mut().and_then(|f| {
            let text = f.read().ok()?;
            if v2 {
                parse_cpu_stat_usage(text)
            } else {
                text.trim().parse::<u64>().ok().map(|ns| ns as f64 / 1e9)
            }
        });
        let mem = self
            .memory_usage
            .as_mut()
            .and_then(|f| f.read().ok()?.trim().parse().ok());
        (cpu, mem)
    }

    /// Reads usage (and limits when `slow`), publishes. Returns the number of errors.
    pub(crate) fn tick(&mut self, now: Instant, slow: bool) -> u64 {
        if self.layout.is_none() {
            return 0;
        }
        if slow || !self.limits_read {
            self.read_limits();
        }
        let (cpu, mem) = self.read_usage();
        let errors = u64::from(cpu.is_none() && mem.is_none());

        if let Some(cores) = self.cpu_limit_cores {
            metrics::gauge!(catalogue::CONTAINER_CPU_LIMIT_CORES.name).set(cores);
        }
        if let Some(secs) = cpu {
            metrics::gauge!(catalogue::CONTAINER_CPU_USAGE_SECONDS_TOTAL.name).set(secs);
            if let (Some(cores), Some((then, prev))) = (self.cpu_limit_cores, self.last_cpu) {
                let wall = now.saturating_duration_since(then).as_secs_f64();
                if wall > 0.0 && secs >= prev {
                    let pct = (secs - prev) / wall / cores * 100.0;
                    metrics::gauge!(catalogue::CONTAINER_CPU_USAGE_PERCENT.name)
                        .set(pct.clamp(0.0, 100.0));
                }
            }
            self.last_cpu = Some((now, secs));
        }
        if let Some(limit) = self.memory_limit_bytes {
            metrics::gauge!(catalogue::CONTAINER_MEMORY_LIMIT_BYTES.name).set(limit as f64);
        }
        if let Some(used) = mem {
            metrics::gauge!(catalogue::CONTAINER_MEMORY_USAGE_BYTES.name).set(used as f64);
            if let Some(limit) = self.memory_limit_bytes.filter(|&l| l > 0) {
                metrics::gauge!(catalogue::CONTAINER_MEMORY_USAGE_PERCENT.name)
                    .set((used as f64 / limit as f64 * 100.0).clamp(0.0, 100.0));
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v2_files() {
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max("250000 100000\n"), Some(2.5));
        assert_eq!(parse_cpu_max("garbage"), None);
        assert_eq!(
            parse_cpu_stat_usage("usage_usec 1500000\nuser_usec 1\n"),
            Some(1.5)
        );
        assert_eq!(parse_v2_limit("max\n"), None);
        assert_eq!(parse_v2_limit("1073741824\n"), Some(1 << 30));
    }

    #[test]
    fn finds_own_cgroup_path() {
        let v1 = "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n";
        assert_eq!(self_path(v1, "memory"), Some("/docker/abc"));
        assert_eq!(self_path(v1, "cpuacct"), Some("/docker/abc"));
        assert_eq!(self_path(v1, ""), Some("/"));
        assert_eq!(self_path("", "memory"), None);
    }
}
