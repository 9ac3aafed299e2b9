const NAME: &str = "ranker";

#[recwatch::track_inference(model = NAME)]
fn a() {}

#[recwatch::track_inference(version = 3)]
fn b() {}

#[recwatch::track_inference(model = concat!("a", "b"))]
fn c() {}

fn main() {}
