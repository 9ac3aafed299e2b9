// A bad argument is one error at the argument: the function itself is still emitted, so its
// callers compile and report nothing more.
#[recwatch::track_inference(modle = "ranker")]
fn rank(x: u32) -> u32 {
    x + 1
}

fn main() {
    assert_eq!(rank(1), 2);
}
