//! Severity and incidents: scores to tiers, and grouping anomalies into incidents.
//!
//! Owns: [`SeverityConfig`] (tier cut-offs) and the 0-100 [`score`] (in `severity`), and
//! [`IncidentsConfig`] with [`group`] (in `grouping`). Pure.

pub mod grouping;
pub mod severity;

pub use grouping::{group, suppress_and_group, IncidentsConfig};
pub use severity::{score, Criticality, ScoreInputs, SeverityConfig};
