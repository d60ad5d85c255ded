//! The integration tests of wagewatch, in one binary: ingest against the data contract (every kind of bad
//! input), format equivalence, the generator, and the command line end to end.

mod support;

mod cli;
mod ingest;
mod model;
mod synth;
