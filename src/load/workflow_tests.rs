//! Workflow decoding: every node and property lands in the model.

use std::time::Duration;

use serde_json::json;

use super::test_support::{WORKFLOW_PATH, workflow};
use crate::load::LoadErrors;
use crate::model::workflow::DEFAULT_STEP_TIMEOUT;
use crate::model::{Check, Matcher, Stream, Workflow};

const FULL: &str = r##"
workflow weekly {
    description "Weekly checks"
    hosts "group:prod"
    forks 32
    timeout "2m"
    vars {
        disk_max 80
        name "eu"
        ratio 0.5
        enabled #true
        nothing #null
        zones "a" "b" 3
    }
    step processes {
        run "s1 status; s1 nodes"
        timeout "30s"
        expect exit=0
        expect stdout contains="Leader" message="no Leader among managers"
        expect stdout not-matches=#"\b0/1\b"# message="a service is not scaled to 1/1"
        expect stderr not-contains="error"
        expect stdout matches="^ok$"
    }
    step disk {
        run "df -h /"
    }
}
"##;

fn full() -> Workflow {
    match workflow(FULL) {
        Ok(workflow) => workflow,
        Err(errors) => panic!("{}", super::test_support::render(&errors)),
    }
}

#[test]
fn decodes_workflow_settings() {
    let wf = full();
    assert_eq!(wf.name, "weekly");
    assert_eq!(wf.source.path.to_str(), Some(WORKFLOW_PATH));
    assert_eq!(wf.description.as_deref(), Some("Weekly checks"));
    let hosts = wf.hosts.as_ref().expect("hosts is set");
    assert_eq!(hosts.value, "group:prod");
    assert_eq!(
        &FULL[hosts.span.offset..][..hosts.span.len],
        "\"group:prod\""
    );
    assert_eq!(wf.forks, Some(32));
    assert_eq!(wf.timeout, Duration::from_secs(120));
}

#[test]
fn decodes_vars() {
    let wf = full();
    assert_eq!(wf.vars["disk_max"], json!(80));
    assert_eq!(wf.vars["name"], json!("eu"));
    assert_eq!(wf.vars["ratio"], json!(0.5));
    assert_eq!(wf.vars["enabled"], json!(true));
    assert_eq!(wf.vars["nothing"], json!(null));
    assert_eq!(wf.vars["zones"], json!(["a", "b", 3]));
    assert_eq!(wf.vars.len(), 6);
}

#[test]
fn decodes_steps() {
    let wf = full();
    let names: Vec<&str> = wf.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["processes", "disk"]);

    let processes = &wf.steps[0];
    assert_eq!(processes.run.text.value, "s1 status; s1 nodes");
    assert_eq!(
        &FULL[processes.run.text.span.offset..][..processes.run.text.span.len],
        "\"s1 status; s1 nodes\""
    );
    assert_eq!(processes.timeout, Some(Duration::from_secs(30)));
    assert_eq!(processes.span.location(), "workflows/test.kdl:15:5");
    assert_eq!(processes.rules.len(), 5);

    let disk = &wf.steps[1];
    assert_eq!(disk.timeout, None);
    assert_eq!(disk.effective_timeout(&wf), Duration::from_secs(120));
    assert!(disk.rules.is_empty());
}

#[test]
fn decodes_rules() {
    let wf = full();
    let rules = &wf.steps[0].rules;
    assert!(matches!(rules[0].check, Check::Exit(ref c) if c == &[0]));
    assert!(rules[0].message.is_none());

    let Check::Stream { stream, matcher } = &rules[1].check else {
        panic!("expected a stream check");
    };
    assert_eq!(*stream, Stream::Stdout);
    assert!(matches!(matcher, Matcher::Contains(t) if t == "Leader"));
    let message = rules[1].message.as_ref().expect("message is set");
    assert_eq!(message.value, "no Leader among managers");
    assert_eq!(
        &FULL[message.span.offset..][..message.span.len],
        "\"no Leader among managers\""
    );

    let Check::Stream { matcher, .. } = &rules[2].check else {
        panic!("expected a stream check");
    };
    let Matcher::NotMatches(regex) = matcher else {
        panic!("expected not-matches");
    };
    assert_eq!(regex.as_str(), r"\b0/1\b");
    assert!(regex.is_match("web 0/1 replicas"));

    let Check::Stream { stream, matcher } = &rules[3].check else {
        panic!("expected a stream check");
    };
    assert_eq!(*stream, Stream::Stderr);
    assert!(matches!(matcher, Matcher::NotContains(t) if t == "error"));

    let Check::Stream { matcher, .. } = &rules[4].check else {
        panic!("expected a stream check");
    };
    assert!(matches!(matcher, Matcher::Matches(r) if r.as_str() == "^ok$"));
    assert_eq!(rules[4].span.location(), "workflows/test.kdl:22:9");
}

#[test]
fn optional_settings_default() {
    let wf = workflow("workflow minimal { step one { run \"true\" } }").expect("loads");
    assert_eq!(wf.name, "minimal");
    assert_eq!(wf.description, None);
    assert!(wf.hosts.is_none());
    assert_eq!(wf.forks, None);
    assert_eq!(wf.timeout, DEFAULT_STEP_TIMEOUT);
    assert!(wf.vars.is_empty());
}

#[test]
fn exit_rule_takes_a_message_and_large_codes() {
    let wf = workflow("workflow w { step s { run \"x\"; expect exit=4294967295 message=\"m\" } }")
        .expect("loads");
    let rule = &wf.steps[0].rules[0];
    assert!(matches!(rule.check, Check::Exit(ref c) if c == &[u32::MAX]));
    assert_eq!(rule.message.as_ref().map(|m| m.value.as_str()), Some("m"));
}

#[test]
fn property_value_spans_skip_spaces_around_equals() {
    let text = "workflow w { step s { run \"x\"; expect exit = -1 } }";
    let errors = workflow(text).expect_err("negative exit status");
    let span = errors.0[0].span().expect("points into the file");
    assert_eq!(&text[span.offset()..][..span.len()], "-1");
}

#[test]
fn one_pass_reports_every_error() {
    let errors = workflow(
        r#"
workflow w {
    forks 0
    timeout "soon"
    step a { run "x"; expect stdout }
    step a { run "y" }
    step b { }
}
"#,
    )
    .expect_err("several errors");
    let messages: Vec<&str> = errors.iter().map(|e| e.message()).collect();
    assert_eq!(
        messages,
        [
            "`forks` must be a positive integer",
            "invalid duration \"soon\"",
            "`expect` needs a matcher",
            "duplicate step `a`",
            "step `b` has no `run` command",
        ]
    );
    assert_eq!(errors.to_string(), "5 errors in workflows/test.kdl");
}

#[test]
fn missing_file_names_path_and_os_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("absent.kdl");
    let errors = super::load_workflow(&path).expect_err("no such file");
    let error = &errors.0[0];
    assert!(error.span().is_none());
    assert_eq!(error.path(), path);
    assert!(error.message().contains(&path.display().to_string()));
    assert!(
        error.message().contains("os error 2"),
        "{}",
        error.message()
    );
}

#[test]
fn load_reads_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("w.kdl");
    std::fs::write(&path, "workflow w { step s { run \"x\" } }").expect("write");
    let wf = super::load_workflow(&path).expect("loads");
    assert_eq!(wf.source.path, path);
}

#[test]
fn secret_marks_belong_to_names_in_workflows_and_inventories() -> Result<(), LoadErrors> {
    let wf = workflow(
        r#"workflow w {
    vars {
        token "t0k" secret=#true
        public "p" secret=#false
    }
    step s { run "echo {{ token }}" }
}"#,
    )?;
    assert_eq!(wf.vars["token"], json!("t0k"));
    assert_eq!(wf.secret_vars.iter().collect::<Vec<_>>(), ["token"]);
    let inv = super::test_support::inventory(
        r#"defaults { vars { db_pass "x" secret=#true } }
host h1 { vars { db_pass "y" } }"#,
    )?;
    assert!(inv.secret_vars.contains("db_pass"));
    let errors = super::test_support::workflow_errors(
        r#"workflow w {
    vars { token "t" secret="yes" }
}"#,
    );
    assert!(
        errors.contains("`secret` takes #true or #false"),
        "{errors}"
    );
    Ok(())
}
