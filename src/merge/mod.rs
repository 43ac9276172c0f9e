//! `fleet report merge`: the partial reports of a sharded run (`fleet run
//! --shard`) back into the one report a single run would have written.
//! `parts` reads them and checks they belong to one run; `combine` builds
//! the merged report and judges the fleet checks over every host.

mod combine;
mod parts;

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;

pub use combine::{MergeOptions, merge};
pub use parts::{MergeError, Part, read_part};
