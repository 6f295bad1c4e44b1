//! `infra`: infrastructure as code for teams moving a live service onto EKS.
//!
//! The core (`stack`, `graph`, `plan`, `render`, `apply::steps`) is pure; AWS,
//! state files and the terminal sit at the edges (`aws`, `state`, `apply`, `cli`).

pub mod apply;
pub mod aws;
pub mod cli;
pub mod graph;
pub mod ops;
pub mod plan;
pub mod render;
pub mod stack;
pub mod state;
