#[recwatch::track_inference]
const fn f() -> u8 {
    1
}

fn main() {}
