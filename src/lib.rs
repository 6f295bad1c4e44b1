//! `infra`: infrastructure as code for teams moving a live service onto EKS.
//!
//! The core (`types`, `stack`, `graph`, `plan`, `render`, `apply::steps`) is
//! pure. The engine (`apply`) reaches the cloud only through `provider` and
//! reports only through `observe`; AWS (`aws`), state backends (`state`) and
//! the terminal (`cli`) sit at the edges. docs/ARCHITECTURE.md has the map.

pub mod apply;
pub mod aws;
pub mod cli;
pub mod graph;
pub mod observe;
pub mod ops;
pub mod plan;
pub mod provider;
pub mod render;
pub mod stack;
pub mod state;
pub mod types;
