// Type errors in the body still point at the user's code, not at generated code.
#[recwatch::track_inference]
fn f(s: &str) -> Result<u32, String> {
    Ok(s)
}

#[recwatch::track_inference]
async fn g() -> u8 {
    "not a number"
}

fn main() {}
