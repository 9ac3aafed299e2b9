//! Methods: `&self`, `&mut self`, `self`, `self: Box<Self>`, associated fns, generic impls,
//! trait impls and trait default methods, borrowing returns.
#![deny(warnings)]

use recwatch::track_inference;

struct Ranker<T> {
    items: Vec<T>,
    calls: usize,
}

impl<T: Clone + PartialOrd> Ranker<T>
where
    T: std::fmt::Debug,
{
    #[track_inference(model = "new")]
    fn new(items: Vec<T>) -> Self {
        Self { items, calls: 0 }
    }

    #[track_inference]
    fn best(&self) -> Option<&T> {
        self.items
            .iter()
            .fold(None, |acc: Option<&T>, x| match acc {
                Some(a) if a >= x => Some(a),
                _ => Some(x),
            })
    }

    #[track_inference]
    fn calls_mut(&mut self) -> &mut usize {
        self.calls += 1;
        &mut self.calls
    }

    #[track_inference]
    fn push(&mut self, item: T) -> Result<(), T> {
        if self.items.len() > 3 {
            return Err(item);
        }
        self.items.push(item);
        Ok(())
    }

    #[track_inference]
    fn into_items(self) -> Vec<T> {
        self.items
    }

    #[track_inference]
    fn boxed(self: Box<Self>) -> usize {
        self.items.len()
    }

    #[track_inference]
    fn items(&self) -> impl Iterator<Item = &T> + '_ {
        self.items.iter()
    }
}

trait Predict {
    fn predict(&self, x: f32) -> f32;

    #[track_inference(model = "default_method")]
    fn predict_twice(&self, x: f32) -> f32 {
        self.predict(self.predict(x))
    }
}

struct Linear(f32);

impl Predict for Linear {
    #[track_inference(model = "linear")]
    fn predict(&self, x: f32) -> f32 {
        self.0 * x
    }
}

fn main() {
    let mut r = Ranker::new(vec![1, 3, 2]);
    let _ = r.best();
    *r.calls_mut() += 1;
    let _ = r.push(4);
    let _ = r.items().count();
    let _ = Box::new(Ranker::new(vec![1])).boxed();
    let _ = r.into_items();
    let _ = Linear(2.0).predict_twice(1.0);
}
