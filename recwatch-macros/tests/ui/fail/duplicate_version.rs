#[recwatch::track_inference(version = "1", model = "a", version = "2")]
fn f() {}

fn main() {}
