//! The command line: argument definitions, dispatch, and the one place
//! where errors are printed and turned into exit codes.

mod adhoc;
mod args;
mod confirm;
mod dispatch;
mod history;
mod resolve;
mod shard;
mod signals;

pub use args::Cli;
pub use dispatch::main;
