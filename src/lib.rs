//! almoner: a keyboard-driven console for a charitable medical foundation.
//!
//! Layers point one way: `cli` and (soon) `ui` sit on `app`, which sits on
//! `domain` (pure rules) and `store` (SQLite through sqlx).

pub mod app;
pub mod cli;
pub mod domain;
pub mod donor_report;
pub mod error;
pub mod import;
pub mod legacy;
pub mod pdf;
pub mod publish;
pub mod store;
pub mod text;
pub mod ui;

pub use error::{Error, Result};
