//! Tests of the example binaries, run as real processes (one module per binary).

mod ks_cli;
