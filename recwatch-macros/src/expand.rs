//! Expansion of `#[track_inference]` on a function.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{Block, Expr, ItemFn, LitStr, ReturnType, Stmt, Type};

use crate::attr::Args;

/// Expands the attribute on `item`.
pub(crate) fn expand(args: Args, mut item: ItemFn) -> syn::Result<TokenStream> {
    if let Some(constness) = &item.sig.constness {
        return Err(syn::Error::new(
            constness.span(),
            "#[track_inference] cannot be used on a `const fn`: timing needs a clock at run time",
        ));
    }
    if let ReturnType::Type(_, ty) = &item.sig.output {
        if let Type::Never(never) = &**ty {
            return Err(syn::Error::new_spanned(
                never,
                "#[track_inference] cannot time a function returning `!`: it never returns",
            ));
        }
    }
    if item.sig.variadic.is_some() {
        return Err(syn::Error::new_spanned(
            &item.sig.variadic,
            "#[track_inference] does not support variadic functions",
        ));
    }

    let model = args.model.unwrap_or_else(|| {
        let ident = &item.sig.ident;
        LitStr::new(&ident.unraw().to_string(), ident.span())
    });
    let site = callsite(&model, args.version.as_ref());

    let block = item.block.clone();
    let new_block: Block = if item.sig.asyncness.is_some() {
        let ret = return_type(&item.sig.output);
        // The unreachable early `return` fixes the block's output type from the signature
        // before the body is checked, so `?` and `return` infer as in the original
        // function and type errors point into the body (the trick `#[async_trait]` uses).
        let body = quote_spanned!(block.span()=>
            async move {
                #[allow(unreachable_code, clippy::diverging_sub_expression)]
                if let ::core::option::Option::Some(__recwatch_ret) =
                    ::core::option::Option::None::<#ret>
                {
                    return __recwatch_ret;
                }
                let __recwatch_ret: #ret = #block;
                #[allow(unreachable_code)]
                __recwatch_ret
            }
        );
        let tail = async_tail(&body, classify(&item.sig.output));
        syn::parse_quote!({ #site #tail })
    } else if let Some(inner) = async_trait_body(&mut item.block) {
        // `#[async_trait]` ran first: the body is `Box::pin(async move { .. })`.
        // Time the boxed future, not the (instant) call that builds it.
        let inner_expr = inner.clone();
        let tail = async_tail(&quote!(#inner_expr), classify_value());
        *inner = syn::parse_quote_spanned!(inner_expr.span()=> async move { #tail });
        let block = &item.block;
        syn::parse_quote!({ #site #block })
    } else {
        let ret = return_type(&item.sig.output);
        let guard = quote!(__recwatch_guard);
        let value = quote!(__recwatch_ret);
        let call = quote_spanned!(block.span()=>
            ::recwatch::__private::call_sync::<#ret, _>(move || #block)
        );
        let outcome = classify(&item.sig.output);
        syn::parse_quote!({
            #site
            let #guard = __RECWATCH_CALLSITE.start_sync();
            let #value = #call;
            #guard.finish(#outcome);
            #value
        })
    };
    *item.block = new_block;
    Ok(quote!(#item))
}

/// `run_async(..).await`, classification and the value, for an async body expression.
fn async_tail(body: &TokenStream, outcome: TokenStream) -> TokenStream {
    quote! {
        let (__recwatch_ret, __recwatch_guard) =
            ::recwatch::__private::run_async(&__RECWATCH_CALLSITE, #body).await;
        __recwatch_guard.finish(#outcome);
        __recwatch_ret
    }
}

/// The per-call-site static: label sets and metric keys, built at compile time.
fn callsite(model: &LitStr, version: Option<&LitStr>) -> TokenStream {
    let span = Span::mixed_site();
    // One label set per outcome, in `Outcome::ALL` order: the outcome values come from
    // `recwatch::inference::Outcome` through `__private::OUTCOMES`, and `CallSite::new` takes
    // exactly `OUTCOME_COUNT` sets, so a new outcome is a compile error here, not a silent gap.
    let version_label = version.map(
        |v| quote!(::recwatch::__private::label(::recwatch::__private::MODEL_VERSION_LABEL, #v),),
    );
    let sets = (0..OUTCOMES).map(|i| {
        quote! {[
            ::recwatch::__private::label(::recwatch::__private::MODEL_LABEL, #model),
            #version_label
            ::recwatch::__private::label(
                ::recwatch::__private::OUTCOME_LABEL,
                ::recwatch::__private::OUTCOMES[#i],
            ),
        ]}
    });
    let n = if version.is_some() { 3_usize } else { 2 };
    let version_opt = match version {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    };
    quote_spanned! {span=>
        static __RECWATCH_CALLSITE: ::recwatch::__private::CallSite = {
            static LABELS: [[::recwatch::__private::Label; #n]; ::recwatch::__private::OUTCOME_COUNT] =
                [#(#sets),*];
            ::recwatch::__private::CallSite::new(#model, #version_opt, &LABELS)
        };
    }
}

/// How many outcomes `recwatch::inference::Outcome` has; checked against
/// `__private::OUTCOME_COUNT` by the type of the generated static.
const OUTCOMES: usize = 4;

/// The return type with every `impl Trait` replaced by `_` (so it can name the type of the
/// body's value inside the function).
fn return_type(output: &ReturnType) -> Type {
    match output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => {
            let mut ty = (**ty).clone();
            ImplTraitToInfer.visit_type_mut(&mut ty);
            ty
        }
    }
}

struct ImplTraitToInfer;

impl VisitMut for ImplTraitToInfer {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(it) = ty {
            *ty = Type::Infer(syn::TypeInfer {
                underscore_token: syn::Token![_](it.impl_token.span),
            });
        } else {
            syn::visit_mut::visit_type_mut(self, ty);
        }
    }
}

/// Tokens computing the outcome of `__recwatch_ret`.
fn classify(output: &ReturnType) -> TokenStream {
    match output {
        // `()` and a bare `impl Trait` are never a `Result`.
        ReturnType::Default => quote!(::recwatch::inference::Outcome::Ok),
        ReturnType::Type(_, ty) if matches!(**ty, Type::ImplTrait(_)) => {
            quote!(::recwatch::inference::Outcome::Ok)
        }
        ReturnType::Type(..) => classify_value(),
    }
}

/// Outcome by the value's type: `Result` (including aliases) classifies `Ok`/`Err`,
/// anything else is `ok`. Autoref specialization: `OutcomeOfResult` is implemented for
/// `Result<T, E>` and wins over `OutcomeOfAny`, implemented for `&T`.
fn classify_value() -> TokenStream {
    quote! {{
        #[allow(unused_imports)]
        use ::recwatch::__private::{OutcomeOfAny as _, OutcomeOfResult as _};
        (&__recwatch_ret).__recwatch_outcome()
    }}
}

/// The `async move { .. }` block of a body generated by `#[async_trait]`
/// (`Box::pin(async move { .. })` as the only statement), if that is what `block` is.
fn async_trait_body(block: &mut Block) -> Option<&mut Expr> {
    let [Stmt::Expr(Expr::Call(call), None)] = block.stmts.as_mut_slice() else {
        return None;
    };
    let Expr::Path(path) = &*call.func else {
        return None;
    };
    let segs: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    if !segs.ends_with(&["Box".to_string(), "pin".to_string()]) || call.args.len() != 1 {
        return None;
    }
    let arg = call.args.first_mut()?;
    matches!(arg, Expr::Async(a) if a.capture.is_some()).then_some(arg)
}
