//! logwarden: finds what is unusual in logs before it becomes an outage.
//!
//! The modules follow the flow:
//! `source` → `parse` (templates) → `vectorize` → `cluster` (patterns) → `detect` →
//! `incidents` (severity, grouping) → `sink` and `notify` (routes to PagerDuty, Slack,
//! webhooks, Datadog, Splunk), with `backend` (Elasticsearch/OpenSearch reads
//! and writes), `config`, `state` (model files),
//! `telemetry` and `model` (the types passed between stages) beside them, `demo` (a synthetic
//! log week with injected incidents), `scenario` (a second, independently written one: a
//! logistics platform) and `cli` (the thin shell).

pub mod backend;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod dashboards;
pub mod demo;
pub mod detect;
pub mod feedback;
pub mod incidents;
pub mod model;
pub mod notify;
pub mod parse;
pub mod retry;
pub mod scenario;
pub mod sidecar;
pub mod sink;
pub mod source;
pub mod state;
pub mod telemetry;
pub mod validate;
pub mod vectorize;
