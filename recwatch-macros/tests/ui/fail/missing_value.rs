#[recwatch::track_inference(model)]
fn a() {}

#[recwatch::track_inference(model = "")]
fn b() {}

#[recwatch::track_inference(model("x"))]
fn c() {}

#[recwatch::track_inference(crate::model = "x")]
fn d() {}

fn main() {}
