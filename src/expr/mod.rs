//! The expression environment: the minijinja [`Environment`] every template
//! and rule expression is compiled in, with the helpers maintenance
//! checklists need (sizes, percentages, durations, dates, versions, regex).
//!
//! Pure: no SSH, no KDL. Build it with [`environment`], validate sources at
//! load time with [`check_expression`] / [`check_template`] (errors carry
//! the byte range inside the source), compile a workflow's expressions once
//! with [`Compiled`] (in the [`shared`] environment), evaluate with
//! minijinja's own API:
//!
//! ```
//! use fleet::expr::{Clock, environment};
//! let env = environment(Clock::System);
//! let expr = env.compile_expression("'85%' | number > 80").unwrap();
//! assert!(expr.eval(minijinja::context! {}).unwrap().is_true());
//! ```
//!
//! Helpers (filters, and functions of the same name unless noted):
//!
//! | helper | example | result |
//! |---|---|---|
//! | `number` | `"85%" \| number` | `85` |
//! | `bytes` | `"1.5G" \| bytes` | `1610612736` |
//! | `seconds` | `"0 secs (0 hrs)" \| seconds` | `0` |
//! | `timestamp` | `"Nov 12 10:00:00 2026 GMT" \| timestamp` | unix seconds |
//! | `now()` (function) | `now()` | unix seconds from the [`Clock`] |
//! | `days_until` | `days_until(cert.notAfter) < 14` | whole days left |
//! | `age` | `age(synced_to) \| int < 60` | seconds since |
//! | `version` | `version("1.10") > version("1.9")` | comparable version |
//! | `version_cmp` (function) | `version_cmp("621.61", "621.64")` | `-1` |
//! | `matches` (also a test) | `line is matches("^OK")` | `true` |
//! | `raw` | `{{ aws \| raw }}` in a `run` command | the value as command text, unquoted ([`shell`]) |
//! | `tojson` | `{{ x \| tojson }}` | JSON text (one quoted word in a command) |
//!
//! In `run` commands every printed value is shell-quoted ([`shell`]);
//! minijinja's `safe` filter is removed so `raw` is the one opt-out.
//!
//! [`Environment`]: minijinja::Environment

mod check;
mod compiled;
mod dates;
mod environment;
mod opt_out;
pub mod shell;
mod text;
mod units;
mod version;

pub use check::{ExprError, check_expression, check_template};
pub use compiled::{Compiled, shared};
pub use environment::{Clock, compile_expression, environment};
pub use opt_out::{OptOuts, RawUse, opt_outs};

#[cfg(test)]
#[path = "expr_tests.rs"]
mod tests;
