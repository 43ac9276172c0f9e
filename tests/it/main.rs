//! The single integration-test binary. Each area of fleet adds a module here;
//! `harness` starts real OpenSSH servers for them.

mod harness;
mod harness_selftest;
