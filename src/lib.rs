//! fleet: run maintenance checklists over SSH across a fleet of hosts.
//!
//! `ls src` is the pipeline. A run flows one way through the stages, each
//! handing the next a typed value:
//!
//! 1. [`load`]: KDL (or Ansible) text → the validated model, every
//!    problem in a file reported at once with its span.
//! 2. [`plan`]: hosts × steps: which hosts, which commands, in which
//!    batches; refuses forbidden hosts before anything connects.
//! 3. [`run`]: the coordinator, one worker per host over one SSH session,
//!    the step runner (retry, until, exports), local steps, cancellation,
//!    rollout batches; it emits events and knows no terminal or file format.
//! 4. [`judge`]: the rules over one attempt's output, the exports, the
//!    fleet-wide checks.
//! 5. [`report`] (live progress, summary, JSON, JUnit, Markdown, HTML, the
//!    plan and ad-hoc output) and [`history`] (runs kept on disk, compared).
//!    [`merge`] sits beside them: the partial reports of a sharded run
//!    (`fleet run --shard`, see [`plan::shard`]) back into one run's report,
//!    its fleet checks judged over every host.
//!
//! Below the stages, the leaves they share: [`model`] (workflow, inventory,
//! the run's report, its verdict and exit code), [`expr`] (the expression
//! language), [`extract`] (output parsers), [`ssh`] (the transport), and
//! `atomic` (file replacement for reports and history). [`cli`] sits on
//! top: it parses arguments, decides the terminal facts (colour, live bar,
//! who answers a prompt), wires the stages together and prints errors once.
//! Imports point down this list, never up.

pub(crate) mod atomic;
pub mod cli;
pub mod expr;
pub mod extract;
pub mod history;
pub mod judge;
pub mod load;
pub mod merge;
pub mod model;
pub mod plan;
pub mod report;
pub mod run;
pub mod ssh;
