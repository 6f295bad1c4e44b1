//! Every test in one binary (one link of the SDK instead of one per file).
//!
//! `pure` (the core, from data files and snapshots), `engine` (the scheduler,
//! journal, recovery and rollouts against a fake provider), `tidy` (the
//! architecture's rules) and `chart` (the plan's chart in headless Chromium)
//! need no emulator; the other modules run the real
//! binary against moto, each test with its own server (`support`).

mod support;

mod chart;
mod editor;
mod engine;
mod fake;
mod pure;
mod tidy;

mod accept;
mod acls;
mod cost;
mod cutover;
mod drift;
mod e2e;
mod ec2_side;
mod eks;
mod expressions;
mod iam;
mod identity;
mod ipv6;
mod kms;
mod lean;
mod lookups;
mod lsp;
mod modules;
mod network;
mod ownership;
mod pipeline;
mod plan_options;
mod reach;
mod recovery;
mod removals;
mod saved;
mod secrets;
mod shared_state;
mod signals;
mod stack_outputs;
mod state;
mod variables;
