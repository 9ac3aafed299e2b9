//! `POST /feedback` of the example service moves `recommendation_quality_score`; bad feedback
//! gets a 4xx with a reason; memory stays bounded.
//!
//! Needs the built example binary, so it is ignored in the plain test run;
//! `scripts/integration.sh` builds the example and runs it with `--ignored`.
#![cfg(feature = "quality")]

mod common;

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

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

async fn start() -> Service {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let child = Command::new(common::example_binary())
        .args(["--addr", &addr.to_string(), "--movies", "500"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the example service");
    let service = Service { child, addr };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !matches!(
        client.get(format!("http://{addr}/healthz")).send().await,
        Ok(r) if r.status() == 200
    ) {
        assert!(
            Instant::now() < deadline,
            "service did not come up on {addr}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    service
}

async fn post(client: &reqwest::Client, addr: SocketAddr, path: &str, body: Value) -> (u16, Value) {
    let r = client
        .post(format!("http://{addr}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
#[ignore = "needs the example binary: scripts/integration.sh"]
async fn feedback_moves_the_quality_score() {
    let svc = start().await;
    let client = reqwest::Client::new();
    let addr = svc.addr;
    let text = common::scrape(&client, addr).await;
    assert_eq!(
        common::sample(&text, "recommendation_quality_score", &[]),
        None,
        "no fake value"
    );

    let (status, recs) = post(&client, addr, "/recommend", json!({"user_id": 7, "k": 5})).await;
    assert_eq!(status, 200);
    let ids: Vec<u64> = recs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["movie_id"].as_u64().unwrap())
        .collect();
    let outside = (0..500u64).find(|m| !ids.contains(m)).unwrap();

    // A liked recommended movie: hit rate 1.
    let (status, body) = post(
        &client,
        addr,
        "/feedback",
        json!({"user_id": 7, "movie_id": ids[1], "rating": 5.0}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rank"], 2);
    assert_eq!(body["quality_score"], 1.0);
    let text = common::scrape(&client, addr).await;
    assert_eq!(
        common::sample(&text, "recommendation_quality_score", &[]),
        Some(1.0)
    );

    // A click on something we did not recommend: 1/2.
    let (status, body) = post(
        &client,
        addr,
        "/feedback",
        json!({"user_id": 7, "movie_id": outside, "event": "click"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["recommended"], false);
    let text = common::scrape(&client, addr).await;
    assert_eq!(
        common::sample(&text, "recommendation_quality_score", &[]),
        Some(0.5)
    );
    assert_eq!(
        common::sample(
            &text,
            "recommendation_quality_metric",
            &[("metric", "online_mrr")]
        ),
        Some(0.25)
    );
    assert_eq!(
        common::sample(
            &text,
            "recommendation_feedback_total",
            &[("kind", "rating"), ("outcome", "recommended")]
        ),
        Some(1.0)
    );
    assert_eq!(
        common::sample(
            &text,
            "recommendation_feedback_total",
            &[("kind", "click"), ("outcome", "not_recommended")]
        ),
        Some(1.0)
    );
}

#[tokio::test]
#[ignore = "needs the example binary: scripts/integration.sh"]
async fn bad_feedback_is_a_4xx_with_a_reason() {
    let svc = start().await;
    let client = reqwest::Client::new();
    let addr = svc.addr;
    for (body, reason) in [
        (
            json!({"user_id": 1, "movie_id": 3, "rating": 9.0}),
            "outside",
        ),
        (
            json!({"user_id": 1, "movie_id": 3, "rating": 4.0, "event": "click"}),
            "not both",
        ),
        (json!({"user_id": 1, "movie_id": 3}), "give a rating"),
        (
            json!({"user_id": 1, "movie_id": 3, "event": "purchase"}),
            "unknown event",
        ),
        (
            json!({"user_id": 1, "movie_id": 100000, "rating": 4.0}),
            "no movie",
        ),
        (
            json!({"user_id": -1, "movie_id": 3, "rating": 4.0}),
            "user_id",
        ),
        (
            json!({"user_id": 1, "movie_id": 3, "rating": "high"}),
            "rating",
        ),
    ] {
        let (status, answer) = post(&client, addr, "/feedback", body.clone()).await;
        assert!((400..500).contains(&status), "{body} -> {status}");
        let msg = answer["error"].as_str().unwrap_or_default();
        assert!(msg.contains(reason), "{body} -> {msg:?}");
    }
    let r = client
        .post(format!("http://{addr}/feedback"))
        .body("not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let text = common::scrape(&client, addr).await;
    assert_eq!(
        common::sample(&text, "recommendation_quality_score", &[]),
        None
    );
    assert!(
        common::sample(
            &text,
            "recommendation_feedback_total",
            &[("outcome", "rejected")]
        )
        .unwrap()
            >= 5.0
    );
}

#[tokio::test]
#[ignore = "needs the example binary: scripts/integration.sh"]
async fn the_feedback_window_stays_bounded() {
    let svc = start().await;
    let client = reqwest::Client::new();
    let addr = svc.addr;
    // More distinct users than the window keeps (10 000).
    let mut tasks = Vec::new();
    for chunk in 0..8u64 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for u in (chunk * 1600)..((chunk + 1) * 1600) {
                let (s, _) = post(&client, addr, "/recommend", json!({"user_id": u, "k": 3})).await;
                assert_eq!(s, 200);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let text = common::scrape(&client, addr).await;
    assert_eq!(
        common::sample(&text, "recommendation_feedback_window_users", &[]),
        Some(10_000.0)
    );
}
