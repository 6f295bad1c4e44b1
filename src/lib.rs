//! `infra`: infrastructure as code for teams moving a live service onto EKS.
//!
//! Five layers, each importing only from those before it: `types`; the pure
//! core (`stack`, `plan`, `render`, `cost`); the engine (`provider`,
//! `observe`, `apply`), which reaches the cloud only through `provider` and
//! reports only through `observe`; the providers and backends (`aws`,
//! `state`); the commands (`ops`, `cli`), of which only `cli/view.rs` writes
//! to the terminal, and the language server (`lsp`), which speaks the
//! protocol on stdio and reads only the files a stack file names. docs/ARCHITECTURE.md has the map; tests/it/tidy.rs
//! checks it.

/// `infra --version`: the package's version and the commit it was built from.
pub const VERSION: &str =
    concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("INFRA_COMMIT"), ")");

pub mod apply;
pub mod aws;
pub mod cli;
pub mod cost;
pub mod lsp;
pub mod observe;
pub mod ops;
pub mod plan;
pub mod provider;
pub mod render;
pub mod stack;
pub mod state;
pub mod types;
