//! The single integration-test binary. Each area of fleet adds a module here;
//! `harness` starts real OpenSSH servers for them.

mod adhoc;
mod auth;
mod cli;
mod compose;
mod faults;
mod guarded;
mod harness;
mod harness_selftest;
mod language;
mod run;
