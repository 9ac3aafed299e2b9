//! A hello-world axum server used as the loopback-throughput benchmark subject
//! (`scripts/bench_wrk.sh`): the same app bare, with recwatch's layer, or with axum-prometheus's.
//!
//! ```text
//! cargo run --release --example hello_server -- --mode recwatch --addr 127.0.0.1:3000
//! ```

use axum::routing::get;
use axum::Router;

#[tokio::main]
async fn main() {
    let mut mode = String::from("bare");
    let mut addr = String::from("127.0.0.1:3000");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--mode" => mode = args.next().unwrap_or_default(),
            "--addr" => addr = args.next().unwrap_or_default(),
            other => {
                eprintln!("hello_server: unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let handle = match recwatch::exporter::ExporterBuilder::new().install() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("hello_server: {e}");
            std::process::exit(1);
        }
    };
    let app = Router::new()
        .route("/hello/{name}", get(|| async { "Hello, World!" }))
        .merge(handle.router());
    let app = match mode.as_str() {
        "bare" => app,
        "recwatch" => {
            app.layer(recwatch::http::RequestMetricsLayer::new().add_skip_path("/metrics"))
        }
        "axum-prometheus" => app.layer(axum_prometheus::PrometheusMetricLayer::new()),
        other => {
            eprintln!("hello_server: unknown mode {other} (bare, recwatch, axum-prometheus)");
            std::process::exit(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("hello_server: cannot bind {addr}: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("hello_server: {e}");
        std::process::exit(1);
    }
}
