#[recwatch::track_inference(model = "m", name = "x")]
fn f() {}

fn main() {}
