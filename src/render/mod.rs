//! Renderers read a `Plan`; they never recompute it.

pub mod text;
