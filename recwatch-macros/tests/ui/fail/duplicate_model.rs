#[recwatch::track_inference(model = "a", version = "1", model = "b")]
fn f() {}

fn main() {}
