//! The single integration-test binary. Each area of fleet adds a module here;
//! `harness` starts real OpenSSH servers for them.

mod adhoc;
mod ansible;
mod auth;
mod cli;
mod compose;
mod examples;
mod faults;
mod guarded;
mod harness;
mod harness_selftest;
mod history;
mod hostile;
mod language;
mod quoting;
mod reports;
mod run;
mod secrets;
mod shard;
mod shipped;
mod slurm;
mod ssh_auth;
mod ssh_connect;
mod ssh_sudo;
