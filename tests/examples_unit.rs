//! The examples' own unit tests: the shared command line of `examples/common/` and the flags
//! of `session3_transfer_learning`. `cargo test` builds examples without running their tests
//! (unless an example says `test = true`, and then it no longer builds the binary that
//! `tests/examples_run.rs` runs), so they are compiled here as a module of this test.
#[allow(dead_code)] // the example's `main` and what only it uses
#[path = "../examples/session3_transfer_learning.rs"]
mod session3_transfer_learning;
