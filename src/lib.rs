//! wagewatch: warns of unpaid wages (欠薪) before they happen.
//!
//! The crate is a pipeline whose stages are its modules (see `ARCHITECTURE.md`):
//! [`contract`] (the data contract as types) -> [`ingest`] (read and validate a dataset) -> features, model,
//! runs and server (later stages). [`synth`] generates a realistic synthetic province in the contract's format.

pub mod calendar;
pub mod contract;
pub mod ingest;
pub mod synth;
