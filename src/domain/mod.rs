//! Pure rules of the foundation: money, stages, allocation, splitting.
//! Knows nothing of SQL or terminals.

pub mod allocation;
pub mod deadline;
pub mod donor_match;
pub mod model;
pub mod money;
pub mod names;
pub mod parse;
pub mod purpose;
pub mod split;
pub mod stage;

pub use model::*;
pub use money::{Currency, Money, MoneyError};
pub use stage::{DocKind, Program, Stage};
