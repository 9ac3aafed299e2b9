//! Parsing of `#[track_inference(...)]` arguments.

use syn::meta::ParseNestedMeta;
use syn::parse::Result;
use syn::LitStr;

/// Arguments of `#[track_inference]`.
#[derive(Default)]
pub(crate) struct Args {
    /// `model = "..."`: the `model` label. Defaults to the function name.
    pub(crate) model: Option<LitStr>,
    /// `version = "..."`: adds a `version` label.
    pub(crate) version: Option<LitStr>,
}

const EXPECTED: &str = "expected `model = \"...\"` or `version = \"...\"`";

impl Args {
    /// Parses one `name = "literal"` argument; used with [`syn::meta::parser`].
    pub(crate) fn parse_one(&mut self, meta: ParseNestedMeta<'_>) -> Result<()> {
        let slot = if meta.path.is_ident("model") {
            &mut self.model
        } else if meta.path.is_ident("version") {
            &mut self.version
        } else {
            let path = &meta.path;
            let name = quote::quote!(#path).to_string().replace(' ', "");
            return Err(meta.error(format_args!("unknown argument `{name}`; {EXPECTED}")));
        };
        let name = if meta.path.is_ident("model") {
            "model"
        } else {
            "version"
        };
        if slot.is_some() {
            return Err(meta.error(format_args!("duplicate `{name}` argument")));
        }
        if !meta.input.peek(syn::Token![=]) {
            return Err(meta.error(format_args!("expected `{name} = \"...\"`")));
        }
        let value = meta.value()?;
        let lit: LitStr = match value.parse::<syn::Expr>()? {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => s,
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    format_args!(
                        "`{name}` must be a string literal: label values are fixed at compile time"
                    ),
                ))
            }
        };
        if lit.value().is_empty() {
            return Err(syn::Error::new(
                lit.span(),
                format_args!("`{name}` must not be empty"),
            ));
        }
        *slot = Some(lit);
        Ok(())
    }
}
