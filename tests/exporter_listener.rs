//! The standalone `/metrics` listener over a real loopback socket.

use recwatch::exporter::{ExporterBuilder, ListenerConfig, CONTENT_TYPE};
use recwatch::ExporterError;

#[tokio::test]
async fn bearer_protected_listener_serves_the_exposition() {
    let (recorder, handle) = ExporterBuilder::new().with_service("listener-test").build();
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("recommendation_requests_total", "endpoint" => "/x").increment(2);
    });
    let listener = handle
        .spawn_listener(
            ListenerConfig::new()
                .with_addr(([127, 0, 0, 1], 0).into())
                .with_bearer_token("s3cret"),
        )
        .unwrap();
    let url = format!("http://{}/metrics", listener.local_addr());
    let client = reqwest::Client::new();

    let denied = client.get(&url).send().await.unwrap();
    assert_eq!(denied.status(), 401);
    assert_eq!(denied.headers()["www-authenticate"], "Bearer");
    let wrong = client.get(&url).bearer_auth("nope").send().await.unwrap();
    assert_eq!(wrong.status(), 401);

    let ok = client.get(&url).bearer_auth("s3cret").send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["content-type"], CONTENT_TYPE);
    let text = ok.text().await.unwrap();
    assert!(
        text.contains("recommendation_requests_total{service=\"listener-test\",endpoint=\"/x\"} 2"),
        "{text}"
    );

    let addr = listener.local_addr();
    listener
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
    assert!(reqwest::get(format!("http://{addr}/metrics"))
        .await
        .is_err());
}

#[tokio::test]
async fn taken_port_is_a_typed_bind_error() {
    let (_recorder, handle) = ExporterBuilder::new().build();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let err = handle
        .spawn_listener(ListenerConfig::new().with_addr(addr))
        .unwrap_err();
    match err {
        ExporterError::Bind { addr: a, .. } => assert_eq!(a, addr),
        other => panic!("unexpected {other:?}"),
    }
    // The error keeps the I/O cause.
    let err = handle
        .spawn_listener(ListenerConfig::new().with_addr(addr))
        .unwrap_err();
    assert!(std::error::Error::source(&err).is_some());
}
