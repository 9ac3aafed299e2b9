//! Procedural macros for [recwatch](https://docs.rs/recwatch). Use them through the
//! `recwatch` crate (`recwatch::track_inference`, feature `macros`, on by default): the
//! generated code refers to `::recwatch::__private` only, so depending on `recwatch` is enough.
#![deny(missing_docs, unsafe_code)]

use proc_macro::TokenStream;

mod attr;
mod expand;

/// Times every call of a model-inference function into the
/// `model_inference_duration_seconds{model, outcome}` histogram.
///
/// ```
/// use recwatch::track_inference;
///
/// #[track_inference(model = "ranker", version = "2024-06-01")]
/// fn rank(scores: &[f32]) -> Result<Vec<usize>, String> {
///     if scores.is_empty() {
///         return Err("no candidates".into());
///     }
///     let mut order: Vec<usize> = (0..scores.len()).collect();
///     order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
///     Ok(order)
/// }
///
/// assert_eq!(rank(&[0.1, 0.9]), Ok(vec![1, 0]));
/// ```
///
/// # Arguments
///
/// - `model = "…"`: the `model` label. Defaults to the function name.
/// - `version = "…"`: adds a `model_version` label (beside the service's global `version`).
///   Defaults to none.
///
/// Both take string literals only (label values are fixed at compile time, so no label can
/// carry request data). Unknown or duplicate arguments, non-literal values and `const fn`
/// are compile errors pointing at the offending tokens.
///
/// # What is recorded
///
/// One observation per call, in seconds, on **every** exit, with `outcome`:
///
/// | exit | `outcome` |
/// |---|---|
/// | normal return, `Ok(..)`, any non-`Result` value | `ok` |
/// | `Err(..)`, including `?` and `return Err(..)` | `error` |
/// | panic (the panic keeps propagating) | `panic` |
/// | an `async fn` future dropped before it completed | `cancelled` |
///
/// A return value is a `Result` when its type is `Result<T, E>` under any name
/// (`std::io::Result<T>`, `anyhow::Result<T>`, a local alias): the check is on the type, not
/// the spelling. A return type that is a bare `impl Trait` always counts as `ok`.
///
/// With the `telemetry` feature, each call also runs inside an `inference` span (fields
/// `model`, `model_version`, `outcome`), entered on every poll for async functions, so it nests
/// under the request span.
///
/// # Supported functions
///
/// Sync and `async` functions; methods taking `&self`, `&mut self`, `self` or
/// `self: Box<Self>`; generic functions and `where` clauses; `impl Trait` in argument and
/// return position; `return` and `?` anywhere in the body. The body runs unchanged inside a
/// closure (sync) or an `async move` block (async) whose type is taken from the signature, so
/// `return` and `?` keep their meaning.
///
/// # Async timing: from the first poll
///
/// For an `async fn`, the clock starts when the returned future is **first polled**, not
/// when the function is called. The `async fn` stays an `async fn` (its signature, lifetimes
/// and `Send`-ness are untouched), and its body only begins at the first poll; time a future
/// spends waiting to be polled is queueing, which belongs to the request's latency, not the
/// model's. A future dropped before its first poll never started an inference and records
/// nothing; one dropped after it started records `cancelled`.
///
/// A *sync* function that returns a future (`-> impl Future`, `-> Pin<Box<dyn Future>>`)
/// is timed only while it builds the future; write it as an `async fn` instead.
///
/// # With `#[async_trait]`
///
/// Put `#[async_trait]` on the `impl` block and `#[track_inference]` on the method, as with
/// any method attribute. `#[async_trait]` expands first and turns the method into a sync fn
/// returning `Box::pin(async move { .. })`; `#[track_inference]` recognises that shape and
/// times the boxed future (from its first poll), not the call that builds it. The future
/// stays `Send`.
///
/// ```
/// # use recwatch::track_inference;
/// # use async_trait::async_trait;
/// #[async_trait]
/// trait Scorer {
///     async fn score(&self, item: u32) -> Result<f32, String>;
/// }
///
/// struct Linear;
///
/// #[async_trait]
/// impl Scorer for Linear {
///     #[track_inference(model = "linear")]
///     async fn score(&self, item: u32) -> Result<f32, String> {
///         Ok(item as f32 * 0.5)
///     }
/// }
/// ```
#[proc_macro_attribute]
pub fn track_inference(args: TokenStream, item: TokenStream) -> TokenStream {
    let original = proc_macro2::TokenStream::from(item.clone());
    // On any error the function is emitted unchanged beside the error, so its callers still
    // compile and the user sees one error, at the offending tokens.
    let with_original = |err: syn::Error| -> TokenStream {
        let err = err.to_compile_error();
        quote::quote!(#err #original).into()
    };
    let mut parsed = attr::Args::default();
    let parser = syn::meta::parser(|meta| parsed.parse_one(meta));
    if let Err(err) = syn::parse::Parser::parse(parser, args) {
        return with_original(err);
    }
    let item = match syn::parse::<syn::ItemFn>(item) {
        Ok(item) => item,
        Err(err) => {
            return with_original(syn::Error::new(
                err.span(),
                "#[track_inference] applies to a function with a body",
            ))
        }
    };
    match expand::expand(parsed, item) {
        Ok(tokens) => tokens.into(),
        Err(err) => with_original(err),
    }
}
