//! Composition with `#[async_trait]`: the attribute times the boxed future, which stays
//! `Send`.
#![deny(warnings)]

use async_trait::async_trait;
use recwatch::track_inference;

#[async_trait]
trait Recommender {
    async fn recommend(&self, user: u64, k: usize) -> Result<Vec<u64>, String>;
    async fn warm_up(&mut self);
}

struct Popular {
    items: Vec<u64>,
    warm: bool,
}

#[async_trait]
impl Recommender for Popular {
    #[track_inference(model = "popular")]
    async fn recommend(&self, user: u64, k: usize) -> Result<Vec<u64>, String> {
        if k == 0 {
            return Err(format!("k = 0 for user {user}"));
        }
        let n: usize = k.to_string().parse().map_err(|_| "parse".to_string())?;
        Ok(self.items.iter().copied().take(n).collect())
    }

    #[track_inference]
    async fn warm_up(&mut self) {
        self.warm = true;
    }
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut p = Popular {
        items: vec![1, 2, 3],
        warm: false,
    };
    rt.block_on(async {
        let _ = assert_send(p.recommend(1, 2)).await;
        assert_send(p.warm_up()).await;
    });
    let r: Box<dyn Recommender + Send + Sync> = Box::new(p);
    let _ = rt.block_on(r.recommend(1, 1));
}
