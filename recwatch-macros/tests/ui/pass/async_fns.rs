//! Async functions and methods: `?`, early return, borrowed arguments and returns,
//! generics, `impl Trait`; the futures stay `Send` when the body is.
#![deny(warnings)]

use recwatch::track_inference;

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[track_inference(model = "llm", version = "7b")]
async fn generate(prompt: &str) -> Result<String, std::num::ParseIntError> {
    if prompt.is_empty() {
        return Ok(String::new());
    }
    let n: usize = prompt.len().to_string().parse()?;
    tokio::task::yield_now().await;
    Ok("x".repeat(n))
}

#[track_inference]
async fn unit() {}

#[track_inference]
async fn generic<T, F>(f: F) -> T
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    f()
}

#[track_inference]
async fn borrowed<'a>(a: &'a str, _b: &str) -> &'a str {
    a
}

#[track_inference]
async fn opaque(n: u32) -> impl std::fmt::Display {
    n
}

#[track_inference]
async fn boxed_error() -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
    let v: u8 = "1".parse()?;
    Ok(v)
}

struct Service {
    hits: u32,
}

impl Service {
    #[track_inference]
    async fn by_ref(&self) -> &u32 {
        &self.hits
    }

    #[track_inference]
    async fn by_mut(&mut self) -> Result<u32, String> {
        self.hits += 1;
        if self.hits > 100 {
            return Err("too many".into());
        }
        Ok(self.hits)
    }

    #[track_inference]
    async fn by_value(self) -> u32 {
        self.hits
    }
}

trait Embed {
    async fn embed(&self, text: &str) -> Vec<f32>;
}

impl Embed for Service {
    #[track_inference(model = "native_afit")]
    async fn embed(&self, text: &str) -> Vec<f32> {
        vec![self.hits as f32; text.len()]
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let _ = assert_send(generate("abc")).await;
        assert_send(unit()).await;
        let _ = assert_send(generic(|| 1)).await;
        let _ = borrowed("a", "b").await;
        let _ = opaque(1).await.to_string();
        let _ = boxed_error().await;
        let mut s = Service { hits: 0 };
        let _ = assert_send(s.by_mut()).await;
        let _ = s.by_ref().await;
        let _ = s.embed("ab").await;
        let _ = assert_send(s.by_value()).await;
    });
}
