#[recwatch::track_inference]
const fn f() -> u8 {
    1
}

#[recwatch::track_inference]
fn never() -> ! {
    loop {}
}

fn main() {}
