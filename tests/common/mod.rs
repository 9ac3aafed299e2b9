//! Helpers shared by the integration tests: exposition parsing, scraping, the example binary.
#![allow(dead_code)]

pub mod ecs_spec;
pub mod webhook;

/// Sum of the samples of `name` whose label set contains every `(label, value)` pair.
/// `None` when no sample matches.
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, label_text) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if series_name != name {
            continue;
        }
        if labels
            .iter()
            .all(|(k, v)| label_text.contains(&format!("{k}=\"{v}\"")))
        {
            let v: f64 = value.parse().expect("numeric sample value");
            found = Some(found.unwrap_or(0.0) + v);
        }
    }
    found
}

/// Number of sample lines (series) in an exposition.
pub fn series_count(text: &str) -> usize {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .count()
}

/// Resident set size of this process in bytes (Linux).
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096
}

/// `GET http://{addr}/metrics` and its body.
pub async fn scrape(client: &reqwest::Client, addr: impl std::fmt::Display) -> String {
    client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("scrape /metrics")
        .text()
        .await
        .expect("exposition body")
}

/// The built `recommendation_service` example: `RECWATCH_SERVICE_BIN`, or the one next to this
/// test binary (`target/<profile>/examples/`). Fails loudly when it is missing.
pub fn example_binary() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("RECWATCH_SERVICE_BIN") {
        return std::path::PathBuf::from(p);
    }
    // target/<profile>/deps/<this test> -> target/<profile>/examples/recommendation_service
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let bin = profile_dir.join("examples").join("recommendation_service");
    assert!(
        bin.exists(),
        "example binary {} is missing: run `cargo build --all-features --example recommendation_service` \
         or set RECWATCH_SERVICE_BIN",
        bin.display()
    );
    bin
}
