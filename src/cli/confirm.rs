//! The typed confirmation a destructive run (or one touching protected
//! hosts) needs, shown under the plan ([`render_plan`](crate::report::render_plan)).

use std::io::{BufRead, IsTerminal, Write};

use crate::plan::Plan;

/// Why a guarded run did not start.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    #[error(
        "this run needs confirmation and stdin is not a terminal to type it; nothing was run.\n  why: {}\n  pass --yes to run it without confirmation{}",
        reasons.join("\n  why: "),
        if *dry_run { ", or --dry-run to see the plan" } else { "" }
    )]
    NoTerminal { reasons: Vec<String>, dry_run: bool },
    #[error("confirmation did not match the inventory name `{expected}`; nothing was run")]
    Mismatch { expected: String },
    #[error("cannot read the confirmation: {0}")]
    Read(std::io::Error),
}

/// What the operator said and has, decided by the caller (`--yes`, and
/// whether stdin is a terminal).
#[derive(Debug, Clone, Copy)]
pub(super) struct Consent {
    pub yes: bool,
    pub terminal: bool,
    /// The command has `--dry-run` (named in the refusal).
    pub dry_run: bool,
}

impl Consent {
    /// From the command line and the real stdin.
    pub(super) fn detect(yes: bool, dry_run: bool) -> Consent {
        Consent {
            yes,
            terminal: std::io::stdin().is_terminal(),
            dry_run,
        }
    }
}

/// Lets a guarded run start (destructive workflow, protected hosts, `fleet
/// exec` on many hosts: see `crate::guard`) only when the operator typed
/// the inventory name, or said `--yes`. Without a terminal and without
/// `--yes` it refuses: a script must say `--yes` explicitly. `shown` is the
/// plan as rendered for the operator (secrets masked); the answer is read
/// from `input` (stdin in use, a buffer in tests).
pub(super) fn confirm(
    plan: &Plan,
    shown: &str,
    consent: Consent,
    input: &mut dyn BufRead,
) -> Result<(), ConfirmError> {
    let reasons = plan.confirmation_reasons();
    if reasons.is_empty() {
        return Ok(());
    }
    if consent.yes {
        eprint!("{shown}");
        eprintln!("confirmed by --yes: {}", reasons.join("; "));
        return Ok(());
    }
    if !consent.terminal {
        return Err(ConfirmError::NoTerminal {
            reasons,
            dry_run: consent.dry_run,
        });
    }
    eprint!("{shown}");
    eprintln!();
    for reason in &reasons {
        eprintln!("CONFIRM: {reason}");
    }
    eprint!(
        "Type the inventory name `{}` to run it: ",
        plan.inventory_name
    );
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    input.read_line(&mut line).map_err(ConfirmError::Read)?;
    if line.trim() == plan.inventory_name {
        Ok(())
    } else {
        Err(ConfirmError::Mismatch {
            expected: plan.inventory_name.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{parse_inventory, parse_workflow};
    use crate::model::SourceFile;

    const INVENTORY: &str = r#"
protect "prod"
group prod { host db1 address="10.0.0.5" }
host db1-alias address="10.0.0.5"
host test1 address="10.0.9.1"
"#;

    fn plan_for(workflow: &str, limit: &str) -> Plan {
        let inv = parse_inventory(SourceFile::new("inventory/site.kdl", INVENTORY))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let wf = parse_workflow(SourceFile::new("workflows/w.kdl", workflow))
            .unwrap_or_else(|e| panic!("{e:?}"));
        crate::plan::plan(wf, &inv, &[limit.to_string()], &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    const READ_ONLY: &str = r#"workflow uptime { step s { run "uptime" } }"#;

    fn consent(yes: bool, terminal: bool) -> Consent {
        Consent {
            yes,
            terminal,
            dry_run: true,
        }
    }

    /// Before: only destructive workflows asked; a read-only workflow (or
    /// any command) ran on protected hosts, aliases included, unasked.
    #[test]
    fn protected_hosts_need_typed_confirmation_or_yes() {
        for limit in ["db1", "db1-alias"] {
            let plan = plan_for(READ_ONLY, limit);
            let err = confirm(&plan, "", consent(false, false), &mut &b""[..])
                .expect_err("no terminal, no --yes");
            let text = err.to_string();
            assert!(text.contains("protected host"), "{text}");
            assert!(text.contains(limit) && text.contains("--yes"), "{text}");
            assert!(matches!(
                confirm(&plan, "", consent(false, true), &mut &b"prod\n"[..]),
                Err(ConfirmError::Mismatch { .. })
            ));
            assert!(confirm(&plan, "", consent(false, true), &mut &b"site\n"[..]).is_ok());
            assert!(confirm(&plan, "", consent(true, false), &mut &b""[..]).is_ok());
        }
        // A host outside the protected group (and not an alias) is not asked.
        let plan = plan_for(READ_ONLY, "test1");
        assert!(confirm(&plan, "", consent(false, false), &mut &b""[..]).is_ok());
    }

    #[test]
    fn destructive_workflows_still_need_confirmation() {
        let plan = plan_for(
            r#"workflow stop { destructive; step s { run "true" } }"#,
            "test1",
        );
        let err = confirm(&plan, "", consent(false, false), &mut &b""[..]).expect_err("refused");
        assert!(err.to_string().contains("is destructive"), "{err}");
    }
}
