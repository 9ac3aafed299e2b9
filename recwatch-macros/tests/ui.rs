//! trybuild UI tests: every supported function shape compiles, and every misuse is a
//! spanned compile error (the expected messages are the `.stderr` files).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
