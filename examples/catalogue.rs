//! Lists recwatch's metric catalogue: as JSON (default) or as the Markdown table of
//! docs/metrics.md (`--markdown`).
//!
//! ```sh
//! cargo run --example catalogue              # JSON, for checking dashboards and alert rules
//! cargo run --example catalogue -- --markdown
//! ```

fn main() {
    match std::env::args().nth(1).as_deref() {
        None | Some("--json") => println!("{}", recwatch::catalogue::to_json()),
        Some("--markdown") => print!("{}", recwatch::catalogue::to_markdown()),
        Some(other) => {
            eprintln!("catalogue: unknown option {other}; usage: catalogue [--json | --markdown]");
            std::process::exit(2);
        }
    }
}
