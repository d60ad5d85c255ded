//! The integration tests of wagewatch, in one binary: ingest against the data contract (every kind of bad
//! input), format equivalence, the generator, the command line end to end, and the runs and HTTP API.

mod support;

mod alerts;
mod attacks;
mod browser;
mod cli;
mod ingest;
mod model;
mod server;
mod store;
mod synth;
mod tidy;
