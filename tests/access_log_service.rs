//! The access log acceptance check against the real example service: with
//! `RECWATCH_LOG_FORMAT=ecs`, standard output holds one ECS line per non-skipped request — each
//! valid against the ECS logging specification, with the HTTP fields and the `trace.id` of the
//! request's `traceparent` — and every 5xx and cancelled request is there.
//!
//! Needs the built example (`cargo build --all-features --example recommendation_service`), so
//! it is ignored in the plain test run; `scripts/integration-telemetry.sh` builds it and runs this
//! with `--ignored`. Fails loudly when the binary is missing.
#![cfg(all(feature = "telemetry", feature = "http"))]

mod common;

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::ecs_spec::check_line;
use serde_json::{Map, Value};

struct Service {
    child: Child,
    addr: SocketAddr,
    stdout: PathBuf,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.stdout);
    }
}

impl Service {
    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }
}

async fn start() -> Service {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let stdout = std::env::temp_dir().join(format!("recwatch-ecs-{}.ndjson", std::process::id()));
    let child = Command::new(common::example_binary())
        .args([
            "--addr",
            &addr.to_string(),
            "--movies",
            "200",
            "--fault-routes",
        ])
        .env("RECWATCH_LOG_FORMAT", "ecs")
        .env("RUST_LOG", "info")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the example service");
    let service = Service {
        child,
        addr,
        stdout,
    };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(
            Instant::now() < deadline,
            "service did not come up on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    service
}

/// One request of the traffic: what is sent and what its line must say.
struct Sent {
    trace_id: String,
    method: &'static str,
    path: &'static str,
    /// `None`: a skipped path, which must have no line.
    status: Option<u64>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the example binary: run scripts/integration-telemetry.sh"]
async fn example_service_writes_one_ecs_access_line_per_request() {
    let service = start().await;
    let addr = service.addr;
    let client = reqwest::Client::new();
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();

    let plan: Vec<(
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<u64>,
    )> = vec![
        ("GET", "/movies/1", None, Some(200)),
        ("GET", "/movies/2", None, Some(200)),
        ("GET", "/movies/999999", None, Some(404)),
        (
            "POST",
            "/recommend",
            Some(r#"{"user_id":7,"k":5}"#),
            Some(200),
        ),
        (
            "POST",
            "/recommend",
            Some(r#"{"user_id":7,"k":0}"#),
            Some(422),
        ),
        ("GET", "/nowhere", None, Some(404)),
        ("GET", "/faults/error", None, Some(500)),
        ("GET", "/faults/error", None, Some(500)),
        ("GET", "/faults/error", None, Some(500)),
        ("GET", "/faults/slow", None, Some(499)),
        ("GET", "/faults/slow", None, Some(499)),
        ("GET", "/healthz", None, None),
        ("GET", "/metrics", None, None),
    ];
    let mut sent = Vec::new();
    for (i, (method, path, body, status)) in plan.into_iter().enumerate() {
        let trace_id = format!("{:032x}", 0x5eed_0000_u64 + i as u64 + 1);
        let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01");
        let url = format!("http://{addr}{path}");
        if status == Some(499) {
            let err = impatient
                .get(format!("{url}?ms=60000"))
                .header("traceparent", &traceparent)
                .send()
                .await
                .expect_err("the client gives up first");
            assert!(err.is_timeout(), "{err}");
        } else {
            let request = match body {
                Some(b) => client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(b),
                None => client.get(&url),
            };
            let response = request
                .header("traceparent", &traceparent)
                .header("user-agent", "recwatch-acceptance")
                .send()
                .await
                .unwrap();
            let got = u64::from(response.status().as_u16());
            assert_eq!(got, status.unwrap_or(200), "{method} {path}");
            let _ = response.bytes().await.unwrap();
        }
        sent.push(Sent {
            trace_id,
            method,
            path,
            status,
        });
    }

    // Lines are written by the service's log thread; cancellations are seen when the server
    // notices the closed connections. Wait until every expected line is there.
    let expected = sent.iter().filter(|s| s.status.is_some()).count();
    let deadline = Instant::now() + Duration::from_secs(30);
    let access = loop {
        let out = service.stdout();
        let lines: Vec<Map<String, Value>> = out
            .lines()
            .map(|l| {
                check_line(l)
                    .unwrap_or_else(|e| panic!("stdout line breaks the ECS spec: {e}"))
                    .into_iter()
                    .collect()
            })
            .collect();
        let access: Vec<Map<String, Value>> = lines
            .into_iter()
            .filter(|l| l["log.logger"] == "recwatch::access")
            .collect();
        if access.len() >= expected {
            break access;
        }
        assert!(
            Instant::now() < deadline,
            "{} access lines of {expected} after 30 s:\n{out}",
            access.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(access.len(), expected, "one line per non-skipped request");

    let mut by_trace: HashMap<&str, Vec<&Map<String, Value>>> = HashMap::new();
    for line in &access {
        by_trace
            .entry(
                line["trace.id"]
                    .as_str()
                    .expect("every access line has trace.id"),
            )
            .or_default()
            .push(line);
    }
    for s in &sent {
        let lines = by_trace
            .get(s.trace_id.as_str())
            .map_or(&[][..], Vec::as_slice);
        let Some(status) = s.status else {
            assert!(
                lines.is_empty(),
                "{} is skipped but logged: {lines:?}",
                s.path
            );
            continue;
        };
        assert_eq!(lines.len(), 1, "{} {}: {lines:?}", s.method, s.path);
        let line = lines[0];
        for key in [
            "@timestamp",
            "log.level",
            "ecs.version",
            "http.request.method",
            "url.path",
            "http.response.status_code",
            "event.duration",
        ] {
            assert!(line.contains_key(key), "{key} missing: {line:?}");
        }
        assert_eq!(line["http.request.method"], s.method);
        assert_eq!(line["url.path"], s.path, "no query string: {line:?}");
        assert_eq!(line["http.response.status_code"], status, "{line:?}");
        assert!(line["event.duration"].as_u64().is_some_and(|d| d > 0));
        assert_eq!(line["service.name"], "recommendation_service");
        match status {
            500 => assert_eq!(line["log.level"], "ERROR"),
            499 => assert_eq!(line["event.reason"], "cancelled"),
            _ => assert_eq!(line["log.level"], "INFO"),
        }
        if s.path == "/movies/1" {
            assert_eq!(line["http.route"], "/movies/{id}");
            assert_eq!(line["user_agent.original"], "recwatch-acceptance");
            assert_eq!(line["client.ip"], "127.0.0.1");
            assert!(line["http.response.body.bytes"]
                .as_u64()
                .is_some_and(|b| b > 0));
        }
    }
}
