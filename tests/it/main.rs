//! The single integration-test binary. Each area of fleet adds a module here;
//! `harness` starts real OpenSSH servers for them.

mod cli;
mod harness;
mod harness_selftest;
mod run;
