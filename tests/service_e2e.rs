//! End-to-end check of the example service under mixed load, validated by a real `promtool`.
//!
//! Needs promtool (Debian's `prometheus` package) and the example binary, so it is ignored in the
//! plain test run; `scripts/integration.sh` installs promtool, builds the example and runs it
//! with `--ignored`. It fails loudly when either is missing.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

struct Service {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_service() -> Service {
    let addr = free_addr();
    let child = Command::new(common::example_binary())
        .args(["--addr", &addr.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the example service");
    let service = Service { child, addr };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("http://{addr}/healthz")).send().await {
            if r.status() == 200 {
                return service;
            }
        }
        assert!(
            Instant::now() < deadline,
            "service did not come up on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn promtool_check(text: &str) {
    let promtool = std::env::var("PROMTOOL").unwrap_or_else(|_| "promtool".into());
    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("promtool ({promtool}) is required: run scripts/install-deps.sh ({e})")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let complaints = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && complaints.trim().is_empty(),
        "promtool check metrics complained ({}):\n{complaints}",
        out.status
    );
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Valid,
    BadJson,
    WrongType,
    NoContentType,
    KnownMovie,
    UnknownMovie,
    Unmatched,
}

/// Every family the service exports is in the catalogue, with the catalogue's TYPE and HELP,
/// and every sample belongs to a typed family.
fn catalogue_check(text: &str) {
    let mut typed = std::collections::BTreeMap::new();
    let mut helped = std::collections::BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            typed.insert(name.to_owned(), kind.to_owned());
        } else if let Some(rest) = line.strip_prefix("# HELP ") {
            helped.insert(rest.split_once(' ').unwrap().0.to_owned());
        }
    }
    assert!(!typed.is_empty(), "no families:\n{text}");
    for (name, kind) in &typed {
        let spec = recwatch::catalogue::find(name)
            .unwrap_or_else(|| panic!("{name} is exported but not in the catalogue"));
        assert_eq!(kind, spec.exposition_type(), "{name}");
        assert!(helped.contains(name), "{name} has no HELP");
    }
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let series = line.split(['{', ' ']).next().unwrap();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                series
                    .strip_suffix(s)
                    .filter(|f| typed.get(*f).is_some_and(|k| k == "histogram"))
            })
            .unwrap_or(series);
        assert!(typed.contains_key(family), "{series} has no TYPE line");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs promtool and the example binary: run scripts/integration.sh"]
async fn mixed_load_exact_counts_and_promtool() {
    let service = start_service().await;
    let addr = service.addr;
    let client = reqwest::Client::new();

    let plan: Vec<(Kind, usize)> = vec![
        (Kind::Valid, 300),
        (Kind::BadJson, 40),
        (Kind::WrongType, 40),
        (Kind::NoContentType, 20),
        (Kind::KnownMovie, 100),
        (Kind::UnknownMovie, 100),
        (Kind::Unmatched, 200),
    ];
    let mut jobs: Vec<(Kind, usize)> = plan
        .iter()
        .flat_map(|&(k, n)| (0..n).map(move |i| (k, i)))
        .collect();
    // Interleave kinds so they run concurrently.
    jobs.sort_by_key(|&(_, i)| i);
    let chunks: Vec<Vec<(Kind, usize)>> = (0..8)
        .map(|w| jobs.iter().skip(w).step_by(8).copied().collect())
        .collect();
    let mut tasks = Vec::new();
    for chunk in chunks {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for (kind, i) in chunk {
                let base = format!("http://{addr}");
                let (req, want) = match kind {
                    Kind::Valid => (
                        client.post(format!("{base}/recommend")).json(
                            &serde_json::json!({"user_id": i as u64 * 31 + 1, "k": 1 + i % 100}),
                        ),
                        200,
                    ),
                    Kind::BadJson => (
                        client
                            .post(format!("{base}/recommend"))
                            .header("content-type", "application/json")
                            .body("{\"user_id\": 1, \"k\""),
                        400,
                    ),
                    Kind::WrongType => (
                        client
                            .post(format!("{base}/recommend"))
                            .json(&serde_json::json!({"user_id": "alice", "k": 5})),
                        422,
                    ),
                    Kind::NoContentType => {
                        (client.post(format!("{base}/recommend")).body("{}"), 415)
                    }
                    Kind::KnownMovie => (client.get(format!("{base}/movies/{}", i * 7)), 200),
                    Kind::UnknownMovie => {
                        (client.get(format!("{base}/movies/{}", 10_000_000 + i)), 404)
                    }
                    Kind::Unmatched => (client.get(format!("{base}/x{i}/{}", i * 13)), 404),
                };
                let res = req.send().await.expect("request");
                assert_eq!(res.status().as_u16(), want, "{kind:?}");
                let body: serde_json::Value = res.json().await.expect("JSON body");
                if want >= 400 {
                    assert!(body.get("error").is_some(), "{kind:?}: {body}");
                } else if let Kind::Valid = kind {
                    assert_eq!(body["items"].as_array().unwrap().len(), 1 + i % 100);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }

    let text = common::scrape(&client, addr).await;
    let count = |endpoint: &str, status: &str| {
        common::sample(
            &text,
            "recommendation_requests_total",
            &[("endpoint", endpoint), ("status", status)],
        )
    };
    assert_eq!(count("/recommend", "200"), Some(300.0));
    assert_eq!(count("/recommend", "400"), Some(40.0));
    assert_eq!(count("/recommend", "422"), Some(40.0));
    assert_eq!(count("/recommend", "415"), Some(20.0));
    assert_eq!(count("/movies/{id}", "200"), Some(100.0));
    assert_eq!(count("/movies/{id}", "404"), Some(100.0));
    assert_eq!(count("unmatched", "404"), Some(200.0));

    // Only route templates (and the one unmatched value) appear as endpoints.
    for line in text.lines().filter(|l| l.contains("endpoint=\"")) {
        let endpoint = line
            .split("endpoint=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(
            ["/recommend", "/movies/{id}", "/healthz", "unmatched"].contains(&endpoint),
            "unexpected endpoint label in {line}"
        );
    }
    // Real histograms: +Inf bucket equals the request count of each series.
    for (endpoint, status, n) in [
        ("/recommend", "200", 300.0),
        ("/recommend", "400", 40.0),
        ("/movies/{id}", "404", 100.0),
        ("unmatched", "404", 200.0),
    ] {
        let inf = common::sample(
            &text,
            "recommendation_request_duration_seconds_bucket",
            &[("endpoint", endpoint), ("status", status), ("le", "+Inf")],
        );
        assert_eq!(inf, Some(n), "+Inf bucket of {endpoint} {status}");
        let c = common::sample(
            &text,
            "recommendation_request_duration_seconds_count",
            &[("endpoint", endpoint), ("status", status)],
        );
        assert_eq!(c, Some(n));
    }
    assert!(text.contains("# TYPE recommendation_request_duration_seconds histogram"));
    assert!(text.contains("recommendation_active_users"));
    // #[track_inference] on the model call: at least one observation per valid request.
    let inferences = common::sample(
        &text,
        "model_inference_duration_seconds_count",
        &[("model", "mf_ranker"), ("outcome", "ok")],
    )
    .expect("inference histogram");
    assert!(
        inferences >= 300.0,
        "{inferences} inference observations for 300 requests"
    );
    assert!(
        text.contains("model_inference_duration_seconds_bucket{") && text.contains("le=\"120\""),
        "inference buckets missing"
    );
    promtool_check(&text);

    // Resource sampler: system gauges within 0-100, process metrics, and without a GPU no GPU
    // usage series but an availability series with a reason.
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = common::scrape(&client, addr).await;
        if text.contains("system_cpu_usage_percent") {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "no sampler metrics after 30 s:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for name in ["system_cpu_usage_percent", "system_memory_usage_percent"] {
        let v = common::sample(&text, name, &[]).expect(name);
        assert!((0.0..=100.0).contains(&v), "{name} = {v}");
    }
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_threads",
        "process_start_time_seconds",
    ] {
        assert!(common::sample(&text, name, &[]).is_some(), "{name} missing");
    }
    let has_gpu = std::path::Path::new("/dev/nvidia0").exists();
    if !has_gpu {
        assert!(
            !text.contains("gpu_usage_percent"),
            "GPU series without a GPU"
        );
        let line = text
            .lines()
            .find(|l| l.starts_with("gpu_sampler_available{"))
            .expect("gpu_sampler_available series");
        assert!(line.contains("reason=\""), "{line}");
    }
    promtool_check(&text);
    catalogue_check(&text);

    // Graceful shutdown on SIGTERM, within 5 s.
    let mut service = service;
    let pid = service.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = service.child.try_wait().unwrap() {
            assert!(status.success(), "service exited with {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "service still running 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
