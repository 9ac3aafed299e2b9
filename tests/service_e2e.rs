//! End-to-end check of the example service under mixed load, validated by a real `promtool`, and
//! of its streamed `POST /explain` endpoint (time to first token, tokens, cost, cancellation).
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
    start_service_with(&[]).await
}

async fn start_service_with(extra: &[&str]) -> Service {
    let addr = free_addr();
    let child = Command::new(common::example_binary())
        .args(["--addr", &addr.to_string()])
        .args(extra)
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

/// `data:` events in a server-sent-events text.
fn events(text: &str) -> usize {
    text.lines().filter(|l| l.starts_with("data:")).count()
}

/// The issue's acceptance check: after streamed requests, `/metrics` carries time-to-first-token
/// and time-per-output-token histograms whose counts match the requests, token counters equal
/// to the tokens streamed, a client that hung up mid-stream counted as `cancelled`, and a cost
/// counter equal to tokens × price.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs promtool and the example binary: run scripts/integration.sh"]
async fn explain_stream_tokens_cost_and_cancellation() {
    const INPUT_PER_1K: f64 = 0.5;
    const OUTPUT_PER_1K: f64 = 1.5;
    let prices = std::env::temp_dir().join(format!("recwatch-prices-{}.json", std::process::id()));
    std::fs::write(
        &prices,
        format!(
            r#"{{"explainer": {{"input_per_1k": {INPUT_PER_1K}, "output_per_1k": {OUTPUT_PER_1K}}}}}"#
        ),
    )
    .unwrap();
    let service = start_service_with(&[
        "--token-delay-ms",
        "2",
        "--price-table",
        prices.to_str().unwrap(),
    ])
    .await;
    let addr = service.addr;
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/explain");

    // Complete streams, concurrently; max_tokens from 2 (always cut: `length`) to the default.
    let mut tasks = Vec::new();
    for i in 0..12_u64 {
        let (client, url) = (client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let max_tokens = [2, 5, 64][i as usize % 3];
            let res = client
                .post(&url)
                .json(&serde_json::json!({"user_id": i * 17 + 3, "movie_id": i * 101, "max_tokens": max_tokens}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            assert_eq!(
                res.headers()["content-type"].to_str().unwrap(),
                "text/event-stream"
            );
            let n = events(&res.text().await.unwrap());
            assert!(n >= 2 && n <= max_tokens as usize, "{n} tokens for max {max_tokens}");
            n
        }));
    }
    let mut streamed = 0;
    for t in tasks {
        streamed += t.await.unwrap();
    }
    // Bad requests are answered before any generation starts.
    for (body, want) in [
        (
            serde_json::json!({"user_id": 1, "movie_id": 10_000_000}),
            404,
        ),
        (
            serde_json::json!({"user_id": 1, "movie_id": 1, "max_tokens": 0}),
            422,
        ),
        (serde_json::json!({"user_id": "x", "movie_id": 1}), 422),
    ] {
        let res = client.post(&url).json(&body).send().await.unwrap();
        assert_eq!(res.status().as_u16(), want, "{body}");
    }

    // A client that reads three tokens of a long answer and hangs up.
    let mut res = client
        .post(&url)
        .json(&serde_json::json!({"user_id": 99, "movie_id": 7, "max_tokens": 512}))
        .send()
        .await
        .unwrap();
    let mut seen = String::new();
    while events(&seen) < 3 {
        let chunk = res.chunk().await.unwrap().expect("stream open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    drop(res);

    // The server notices on its next write (a hang detector, not a timing assertion).
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = common::scrape(&client, addr).await;
        let cancelled = common::sample(
            &text,
            "model_generation_duration_seconds_count",
            &[("model", "explainer"), ("outcome", "cancelled")],
        );
        if cancelled == Some(1.0) {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "hang-up never recorded as cancelled:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let m = ("model", "explainer");
    let get = |name: &str, extra: &[(&str, &str)]| {
        let mut labels = vec![m];
        labels.extend_from_slice(extra);
        common::sample(&text, name, &labels).unwrap_or_else(|| panic!("{name} {extra:?} missing"))
    };
    assert_eq!(
        get(
            "model_generation_duration_seconds_count",
            &[("outcome", "ok")]
        ),
        12.0
    );
    // Every request got a first token, the hung-up one included.
    assert_eq!(get("model_time_to_first_token_seconds_count", &[]), 13.0);
    assert_eq!(
        get(
            "model_time_to_first_token_seconds_bucket",
            &[("le", "+Inf")]
        ),
        13.0
    );
    // One time-per-output-token observation per successful stream (all have >= 2 tokens).
    assert_eq!(get("model_time_per_output_token_seconds_count", &[]), 12.0);
    // Tokens: the complete streams exactly, plus what the hung-up stream produced (at least
    // what its client read, at most its natural length of 63).
    let output = get("model_tokens_total", &[("type", "output")]);
    let cancelled_tokens = output - streamed as f64;
    assert!(
        (3.0..=63.0).contains(&cancelled_tokens),
        "{output} output tokens for {streamed} streamed plus a hung-up stream"
    );
    assert_eq!(get("model_token_usage_sum", &[("type", "output")]), output);
    assert_eq!(get("model_token_usage_count", &[("type", "output")]), 13.0);
    let input = get("model_tokens_total", &[("type", "input")]);
    assert!(input >= 13.0 * 10.0, "{input} input tokens");
    // Cost = tokens × price.
    let cost_out = get("model_cost_total", &[("type", "output")]);
    let cost_in = get("model_cost_total", &[("type", "input")]);
    assert!(
        (cost_out - output / 1000.0 * OUTPUT_PER_1K).abs() < 1e-9,
        "{cost_out}"
    );
    assert!(
        (cost_in - input / 1000.0 * INPUT_PER_1K).abs() < 1e-9,
        "{cost_in}"
    );
    assert_eq!(get("model_requests_running", &[]), 0.0);
    assert_eq!(get("model_requests_waiting", &[]), 0.0);
    // The request layer counts the streamed responses at their head (the example does not turn
    // on its end-of-body timing): all 13 answered 200.
    assert_eq!(
        common::sample(
            &text,
            "recommendation_requests_total",
            &[("endpoint", "/explain"), ("status", "200")]
        ),
        Some(13.0)
    );
    promtool_check(&text);
    let _ = std::fs::remove_file(&prices);
}
