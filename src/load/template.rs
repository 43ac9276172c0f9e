//! Syntax checks for the minijinja templates (commands, messages) and
//! expressions (rules, `when`, exports) written in KDL strings, so a typo
//! is reported at load time with the exact place inside the string.
//! Whether the names they use exist is checked by the planner, which knows
//! every variable of every host.

use minijinja::Environment;

use super::decode::Decoder;
use super::diagnostic::LoadError;
use crate::model::Spanned;

pub use crate::model::expression::narrow;

/// An error inside a template or expression string, pointing at the part
/// minijinja blames.
pub fn error_in(text: &Spanned<String>, what: &str, e: &minijinja::Error) -> LoadError {
    let detail = e
        .detail()
        .map_or_else(|| e.kind().to_string(), str::to_string);
    let span = e
        .range()
        .map_or_else(|| text.span.clone(), |r| narrow(text, &r));
    LoadError::at(&span, format!("invalid {what}: {detail}"), Some(help(what))).with_label(detail)
}

fn help(what: &str) -> String {
    if what == "expression" {
        "expressions use minijinja syntax without braces, e.g. `row.Use | number < 80`".to_owned()
    } else {
        "templates use minijinja syntax: `{{ variable }}`, `{{ value | filter }}`".to_owned()
    }
}

pub(crate) fn check_template(d: &mut Decoder, text: &Spanned<String>) {
    let env = Environment::new();
    if let Err(e) = env.template_from_str(&text.value) {
        d.report(error_in(text, "template", &e));
    }
}

/// A `run` command: the template must compile, and may not turn shell
/// quoting off with `{% autoescape %}` (`raw` is the one, named opt-out,
/// which the planner checks against remote values).
pub(crate) fn check_command(d: &mut Decoder, text: &Spanned<String>) {
    let env = crate::expr::environment(crate::expr::Clock::System);
    if let Err(e) = env.template_from_named_str(crate::expr::shell::COMMAND_TEMPLATE, &text.value) {
        d.report(error_in(text, "template", &e));
        return;
    }
    let Ok(found) = crate::expr::opt_outs(&text.value) else {
        return;
    };
    for (range, quote) in found.in_quotes {
        d.report(
            LoadError::at(
                &narrow(text, &range),
                format!(
                    "a value inside {} quotes in a command: values are shell-quoted already, so \
                     its quotes would close these and leave it unquoted",
                    if quote == '"' { "double" } else { "single" }
                ),
                Some(
                    "remove the quotes around `{{ … }}`; to join text and a value into one word \
                     write `{{ 'Bearer ' ~ token }}`"
                        .to_owned(),
                ),
            )
            .with_label("inside quotes"),
        );
    }
    for range in found.autoescape {
        d.report(
            LoadError::at(
                &narrow(text, &range),
                "`autoescape` cannot be used in a command: it would turn shell quoting off",
                Some(
                    "values in commands are shell-quoted; mark command text held in a variable with `{{ x | raw }}`"
                        .to_owned(),
                ),
            )
            .with_label("quoting off"),
        );
    }
}

/// The planner's check of `raw` in steps where a host's output must never
/// become command text: `local` steps (they run on the controller, as the
/// operator) and `sudo` steps (they run as root). `author` holds the names
/// whose values the workflow, inventory or `--set` wrote (never an
/// export); any other name read inside a `raw` — an export, `data`, `row`,
/// `stdout`, a loop variable — is refused.
pub(crate) fn check_raw(
    step: &crate::model::Step,
    author: &std::collections::BTreeSet<String>,
) -> Vec<LoadError> {
    if !step.local && !step.sudo {
        return Vec::new();
    }
    let text = &step.run.text;
    let Ok(found) = crate::expr::opt_outs(&text.value) else {
        return Vec::new(); // syntax errors were reported by the loader
    };
    let (place, harm) = if step.local {
        (
            "a `local` step",
            "it runs on the controller as you, with your credentials",
        )
    } else {
        ("a `sudo` step", "it runs as root on the host")
    };
    let mut errors = Vec::new();
    for raw in found.raw {
        let remote: Vec<&String> = raw
            .reads
            .iter()
            .filter(|n| !author.contains(*n) || found.bound.contains(*n))
            .collect();
        if remote.is_empty() {
            continue;
        }
        let names = remote
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ");
        errors.push(
            LoadError::at(
                &narrow(text, &raw.range),
                format!(
                    "`raw` on {names} in {place}: a value that can come from a host's output \
                     would run as shell code ({harm})"
                ),
                Some(
                    "remove `| raw` so the value is passed as one quoted word; only variables \
                     written in the workflow, the inventory or --set may be command text"
                        .to_owned(),
                ),
            )
            .with_label("remote value used as command text"),
        );
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{inventory, render, workflow, workflow_errors};
    use crate::plan::{PlanError, plan};

    const INVENTORY: &str = r#"
defaults { vars { aws "aws --profile prod"; bucket "b" } }
host a
"#;

    /// The planner's errors for `wf` as the terminal shows them, or "".
    fn plan_errors(wf: &str) -> String {
        let wf = workflow(wf).unwrap_or_else(|e| panic!("{}", render(&e)));
        let inv = inventory(INVENTORY).unwrap_or_else(|e| panic!("{}", render(&e)));
        match plan(wf, &inv, &[], &[]) {
            Err(PlanError::Templates(errors)) => render(&errors),
            Err(e) => panic!("{e}"),
            Ok(_) => String::new(),
        }
    }

    /// Issue 12: a host's export made command text of a `local` step.
    #[test]
    fn raw_on_a_remote_value_in_a_local_step_is_refused_with_its_place() {
        let out = plan_errors(
            r#"workflow w {
    step read {
        run "cat /etc/motd"
        export motd "stdout"
    }
    step use {
        local #true
        run "echo {{ motd | raw }}"
    }
}"#,
        );
        assert!(out.contains("`raw` on `motd` in a `local` step"), "{out}");
        assert!(out.contains("workflows/test.kdl:8:"), "{out}");
        assert!(out.contains("remove `| raw`"), "{out}");
    }

    #[test]
    fn raw_on_step_results_in_sudo_steps_is_refused_in_every_disguise() {
        for command in [
            "{{ data[0] | raw }}",
            "{% for r in data %}{{ r | raw }}{% endfor %}",
            "{% set x = data %}{{ x | raw }}",
            "{{ (aws ~ data) | raw }}",
            "{{ aws | raw(data) }}",
        ] {
            let out = plan_errors(&format!(
                r#"workflow w {{
    step s {{
        sudo
        run "ls"
        parse "lines"
        export data "data"
    }}
    step t {{
        sudo
        run "{command}"
    }}
}}"#
            ));
            assert!(out.contains("in a `sudo` step"), "{command}: {out}");
        }
    }

    #[test]
    fn raw_on_author_values_is_allowed_everywhere_and_remote_values_stay_quoted() {
        let out = plan_errors(
            r#"workflow w {
    local fetch {
        run "{{ aws | raw }} s3 ls {{ bucket }}"
        export listing "stdout"
    }
    step use {
        local #true
        sudo #false
        run "{{ aws | raw }} s3 cp {{ listing }} {{ host.name }}"
    }
    step remote {
        run "cat {{ listing | raw }}"
    }
}"#,
        );
        assert_eq!(out, "");
    }

    #[test]
    fn autoescape_in_a_command_is_a_load_error() {
        let out = workflow_errors(
            r#"workflow w { step s { run "{% autoescape false %}{{ host.name }}{% endautoescape %}" } }"#,
        );
        assert!(
            out.contains("`autoescape` cannot be used in a command"),
            "{out}"
        );
    }
}
