//! The example service's drift monitor end to end: normal traffic keeps
//! `recommendation_drift_score` low; a burst of shifted traffic raises it above 0.5 in
//! `/metrics` and makes the service post an alert to a local webhook receiver.
//!
//! Needs the example built with the `drift` feature (`cargo build --all-features --example
//! recommendation_service`, or `RECWATCH_SERVICE_BIN`); no external server.
#![cfg(feature = "drift")]

mod common;

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Service(Child);
impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn scrape(client: &reqwest::Client, addr: SocketAddr) -> String {
    client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn shifted_burst_raises_the_drift_score_and_posts_to_the_webhook() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (hook, alerts) = common::webhook::receiver(0);
    let child = Command::new(common::example_binary())
        .args([
            "--addr",
            &addr.to_string(),
            "--movies",
            "500",
            "--drift-window",
            "200",
            "--drift-interval",
            "0.5",
            "--drift-webhook",
            &hook,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the example service");
    let mut service = Service(child);
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "service did not come up");
        if let Ok(Some(status)) = service.0.try_wait() {
            panic!("the service exited: {status}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Normal traffic, as documented in examples/recommendation_service/drift.rs.
    let mut s = 12345u64;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    for _ in 0..200 {
        let k = [5, 20, 10, 10][(next() % 4) as usize];
        let device = [
            "mobile", "mobile", "mobile", "mobile", "mobile", "mobile", "desktop", "desktop",
            "desktop", "tv",
        ][(next() % 10) as usize];
        let body = serde_json::json!({"user_id": next() % 100_000, "k": k,
            "context": {"device": device, "hour": 8 + next() % 16}});
        let r = client
            .post(format!("http://{addr}/recommend"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // wait for a check of the normal window
    let mut normal = None;
    while normal.is_none() {
        assert!(
            Instant::now() < deadline,
            "no drift check on normal traffic"
        );
        let text = scrape(&client, addr).await;
        if common::sample(&text, "recommendation_drift_window_rows", &[]) == Some(200.0) {
            normal = common::sample(&text, "recommendation_drift_score", &[]);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(normal.unwrap() <= 0.5, "normal traffic scored {normal:?}");
    assert!(alerts.try_recv().is_err(), "normal traffic must not alert");

    // A burst of shifted traffic: late-night TV sessions asking for 50 items.
    for i in 0..200u64 {
        let body =
            serde_json::json!({"user_id": i, "k": 50, "context": {"device": "tv", "hour": 3}});
        let r = client
            .post(format!("http://{addr}/recommend"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let alert = tokio::task::spawn_blocking(move || alerts.recv_timeout(Duration::from_secs(120)))
        .await
        .unwrap()
        .expect("the service posted no alert");
    assert!(alert["score"].as_f64().unwrap() > 0.5, "{alert}");
    assert!(alert["text"]
        .as_str()
        .unwrap()
        .contains("Data drift detected"));
    // the counter is incremented once the receiver's answer is read: wait for it
    let text = loop {
        let text = scrape(&client, addr).await;
        let sent = common::sample(
            &text,
            "recommendation_drift_notifications_total",
            &[("notifier", "webhook"), ("outcome", "sent")],
        );
        if sent.is_some_and(|v| v >= 1.0) {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "no sent notification counted: {text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let score = common::sample(&text, "recommendation_drift_score", &[]).unwrap();
    assert!(score > 0.5, "recommendation_drift_score {score}");
    assert_eq!(
        common::sample(
            &text,
            "recommendation_feature_drift_detected",
            &[("feature", "device")]
        ),
        Some(1.0)
    );
    assert!(text.contains("# TYPE recommendation_drift_score gauge"));
}
