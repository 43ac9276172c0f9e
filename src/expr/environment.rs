//! Builds the environment and registers every helper.

use minijinja::{Environment, UndefinedBehavior};
use time::OffsetDateTime;

use super::{dates, shell, text, units, version};

/// Where `now()`, `days_until` and `age` get the current time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The machine's clock, read at each call.
    System,
    /// A fixed instant: tests and reproducible re-evaluation of a run.
    Fixed(OffsetDateTime),
}

impl Clock {
    /// Current time as unix seconds.
    pub fn now(&self) -> i64 {
        match self {
            Clock::System => OffsetDateTime::now_utc().unix_timestamp(),
            Clock::Fixed(at) => at.unix_timestamp(),
        }
    }
}

/// Builds the minijinja Environment used for every template and rule
/// expression: strict undefined (a typo in a variable name is an error, not
/// an empty string that makes a rule silently pass), all helpers registered.
pub fn environment(clock: Clock) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);

    env.add_filter("number", units::number);
    env.add_function("number", units::number);
    env.add_filter("bytes", units::bytes);
    env.add_function("bytes", units::bytes);
    env.add_filter("seconds", units::seconds);
    env.add_function("seconds", units::seconds);

    env.add_filter("timestamp", dates::timestamp);
    env.add_function("timestamp", dates::timestamp);
    env.add_function("now", move || clock.now());
    let days_until = move |ts: &minijinja::Value| dates::days_until(ts, clock.now());
    env.add_filter("days_until", days_until);
    env.add_function("days_until", days_until);
    let age = move |ts: &minijinja::Value| dates::age(ts, clock.now());
    env.add_filter("age", age);
    env.add_function("age", age);

    env.add_filter("version", version::version);
    env.add_function("version", version::version);
    env.add_function("version_cmp", version::version_cmp);

    env.add_filter("matches", text::matches);
    env.add_function("matches", text::matches);
    env.add_test("matches", text::matches);
    shell::install(&mut env);
    env.set_fuel(Some(EVAL_FUEL));
    env
}

/// Instructions one template or expression may execute. A workflow's
/// expressions are small, but a loop over a huge `range` or nested loops
/// over every row of every host could otherwise spin for minutes; with
/// fuel such an expression fails with an error naming it instead. Ten
/// million instructions is far above any real rule (a fleet check over
/// 10,000 hosts uses a few per host) and takes about a second at worst.
pub const EVAL_FUEL: u64 = 10_000_000;

/// `env.compile_expression(text)`, but a panic inside minijinja's lexer
/// (2.24 panics with "empty lexer stack" on expressions such as `}} x`,
/// found by fuzzing) becomes a syntax error instead of taking the run down.
pub fn compile_expression<'env, 'source>(
    env: &'env minijinja::Environment<'static>,
    text: &'source str,
) -> Result<minijinja::Expression<'env, 'source>, minijinja::Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        env.compile_expression(text)
    }))
    .unwrap_or_else(|_| {
        Err(minijinja::Error::new(
            minijinja::ErrorKind::SyntaxError,
            "the expression cannot be parsed (unbalanced `}}` or `%}`?)",
        ))
    })
}
