#[recwatch::track_inference]
struct Model;

trait Predict {
    #[recwatch::track_inference]
    fn predict(&self) -> u8;
}

fn main() {}
