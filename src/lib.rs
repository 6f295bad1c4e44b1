//! `infra`: infrastructure as code for teams moving a live service onto EKS.
//!
//! The core (`types`, `stack`, `graph`, `plan`, `render`, `apply::steps`) is
//! pure. The engine (`apply`) reaches the cloud only through `provider` and
//! reports only through `observe`; AWS (`aws`), state backends (`state`) and
//! the terminal (`cli`) sit at the edges. docs/ARCHITECTURE.md has the map.

/// `print!` to standard output that does not fail when the reader has gone
/// (`infra plan | head`): what was asked goes on, unprinted, rather than
/// panicking midway through an apply.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `println!` as `say!` prints.
macro_rules! sayln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `infra --version`: the package's version and the commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("INFRA_COMMIT"),
    ")"
);

pub mod apply;
pub mod aws;
pub mod cli;
pub mod cost;
pub mod observe;
pub mod ops;
pub mod plan;
pub mod provider;
pub mod render;
pub mod stack;
pub mod state;
pub mod types;
