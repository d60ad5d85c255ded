//! wagewatch: warns of unpaid wages (欠薪) before they happen.
//!
//! The crate is a pipeline whose stages are its modules (see `ARCHITECTURE.md`):
//! [`contract`] (the data contract as types) -> [`ingest`] (read and validate a dataset) -> [`features`]
//! (point-in-time features and rule alerts as of a date) -> [`model`] (train, calibrate, explain, score) ->
//! [`watchlist`] (the contract's output file) -> [`runs`] (batch re-scores stored and published atomically)
//! -> [`server`] (the HTTP API). [`state`] is the service's SQLite database (runs, tokens, audit, inspections). [`target`] defines the predicted event and who is scored,
//! [`backtest`] and [`metrics`] measure the model honestly, and [`synth`] generates a realistic synthetic
//! province in the contract's format.

pub mod backtest;
pub mod calendar;
pub mod contract;
pub mod features;
pub mod ingest;
pub mod metrics;
pub mod model;
pub mod runs;
pub mod server;
pub mod state;
pub mod synth;
pub mod target;
pub mod watchlist;
