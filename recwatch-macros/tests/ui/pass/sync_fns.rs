//! Sync functions: plain, `Result` with `?` and early `return`, `impl Trait`, generics and
//! `where` clauses, elided lifetimes, raw identifiers, nested items.
#![deny(warnings)]

use recwatch::track_inference;

#[track_inference]
fn unit() {}

#[track_inference(model = "parse")]
fn parse(s: &str) -> Result<u32, std::num::ParseIntError> {
    if s.is_empty() {
        return Ok(0);
    }
    let n: u32 = s.trim().parse()?;
    Ok(n)
}

#[track_inference(model = "boxed_err", version = "v1")]
fn boxed_err(s: &str) -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    Ok(s.parse::<u32>()?)
}

#[track_inference]
fn io_result() -> std::io::Result<()> {
    Err(std::io::Error::other("nope"))?;
    Ok(())
}

#[track_inference]
fn first_word(s: &str) -> &str {
    s.split(' ').next().unwrap_or("")
}

#[track_inference]
fn evens(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|x| x % 2 == 0)
}

#[track_inference]
fn nested_impl(v: &[u8]) -> Result<impl Iterator<Item = &u8> + '_, String> {
    if v.is_empty() {
        return Err("empty".into());
    }
    Ok(v.iter())
}

#[track_inference]
fn sum_all(items: impl IntoIterator<Item = u64>) -> u64 {
    items.into_iter().sum()
}

#[track_inference(model = "generic")]
fn largest<'a, T, const N: usize>(items: &'a [T; N]) -> Option<&'a T>
where
    T: Ord + std::fmt::Debug,
{
    fn helper<T: Ord>(items: &[T]) -> Option<&T> {
        items.iter().max()
    }
    helper(items)
}

#[track_inference]
fn r#match(x: u8) -> u8 {
    x
}

#[track_inference]
#[allow(unreachable_code)]
fn diverges_in_branch(x: u8) -> u8 {
    if x == 0 {
        return 1;
    }
    loop {
        break x;
    }
}

#[track_inference]
#[allow(unsafe_code)]
unsafe fn raw_read(p: *const u8) -> u8 {
    unsafe { *p }
}

#[track_inference]
extern "C" fn c_abi(x: i32) -> i32 {
    x * 2
}

fn main() {
    unit();
    let _ = parse("3");
    let _ = boxed_err("3");
    let _ = io_result();
    let _ = first_word("a b");
    let _ = evens(4).count();
    let _ = nested_impl(&[1]).map(|it| it.count());
    let _ = sum_all(vec![1, 2]);
    let _ = largest(&[1, 2, 3]);
    let _ = r#match(1);
    let _ = diverges_in_branch(3);
    let x = 5u8;
    let _ = unsafe { raw_read(&x) };
    let _ = c_abi(1);
}
