//! wagewatch's service: the state database, published runs, and the HTTP API and dashboard over them.
//!
//! [`config`] is the operator's configuration (`wagewatch.toml`); [`state`] the service's own SQLite
//! database (run registry, re-score jobs, tokens, audit log, recorded inspections); [`runs`] batch re-scores
//! stored as Parquet and published atomically; [`query`] the watchlist filters the API and the dashboard
//! share; [`server`] the axum API and the supervisors' dashboard; [`webhooks`] the pushes of alerts;
//! [`demo`] the whole system prepared on a demo province. The scoring itself is `wagewatch_core`'s.

#![forbid(unsafe_code)]

pub mod champion;
pub mod config;
pub mod datastore;
pub mod demo;
pub mod query;
pub mod runs;
pub mod server;
pub mod state;
pub mod webhooks;
