//! wagewatch's scoring core: everything from a dataset folder to a ranked, explained watchlist, with no
//! async runtime, web framework or database in its dependency tree and no clock read anywhere in it.
//!
//! The modules are the pipeline's stages (see `ARCHITECTURE.md`): [`contract`] (the data contract as types)
//! -> [`ingest`] (read and validate a dataset) -> [`worker_months`] (payroll joined to payments once) ->
//! [`features`] (point-in-time features and rule alerts as of a date) -> [`model`] (train, calibrate,
//! explain, score) -> [`watchlist`] (the contract's output file). [`target`] defines the predicted event and
//! who is scored, [`calendar`] the Spring Festival, [`backtest`] and [`metrics`] measure the model honestly,
//! and [`rng`] is the one deterministic random number generator of the workspace.

#![forbid(unsafe_code)]

pub mod backtest;
pub mod calendar;
pub mod champion;
pub mod contract;
pub mod drift;
pub mod fairness;
pub mod features;
pub mod ingest;
pub mod metrics;
pub mod model;
pub mod outcomes;
pub mod plan;
pub mod regions;
pub mod rng;
pub mod sampling;
pub mod target;
pub mod watchlist;
pub mod worker_months;
