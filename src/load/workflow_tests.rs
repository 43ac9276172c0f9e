//! Workflow decoding: every node and property lands in the model.

use std::time::Duration;

use serde_json::json;

use crate::extract::Extractor;
use crate::load::LoadErrors;
use crate::load::test_support::{WORKFLOW_PATH, render, workflow, workflow_errors};
use crate::model::workflow::DEFAULT_STEP_TIMEOUT;
use crate::model::{Check, Matcher, OnFailure, Severity, Stream, Workflow};

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
        Err(errors) => panic!("{}", crate::load::test_support::render(&errors)),
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
    let inv = crate::load::test_support::inventory(
        r#"defaults { vars { db_pass "x" secret=#true } }
host h1 { vars { db_pass "y" } }"#,
    )?;
    assert!(inv.secret_vars.contains("db_pass"));
    let errors = crate::load::test_support::workflow_errors(
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

// The language's richer nodes: parsers, expression rules, exports,
// control flow, local steps, fleet checks, includes, safety.

const LANG: &str = r##"
workflow lang {
    destructive
    forbid-groups "prod" "staging"
    local latest {
        run "curl -s https://example.invalid/stemcells"
        parse json
        export latest_stemcell "data.version"
    }
    step disk {
        run "df -P"
        sudo #true
        parse table
        expect-each "row.Capacity | number < 80" where="row['Mounted on'] != '/boot'" message="{{ row['Mounted on'] }} is {{ row.Capacity }} full" severity="warn"
        expect-count "row.Capacity == '100%'" max=0
        expect "data | length > 0"
        export disk_use "data | map(attribute='Capacity') | map('number') | max"
    }
    step services {
        when "host.groups is not none"
        run "s1 stop expire"
        retry attempts=10 interval="3s" until="'1/1' not in stdout"
        on-failure "stop-host"
        timeout "1m"
        parse kv separator=":"
    }
    step named {
        local #true
        run "echo x"
        parse regex #"(?<state>PRIMARY|SECONDARY)"# all=#true
    }
    step columns {
        run "bosh deployments | grep go_agent"
        parse table "Name" "Release(s)" "Stemcell(s)" "Team(s)" skip=1 fill-down=#false
    }
    step lines {
        run "ls"
        parse lines
    }
    fleet-check one-primary {
        expect "hosts | selectattr('mongo_state', 'eq', 'PRIMARY') | list | length == 1" message="{{ hosts | length }} hosts"
        expect "true" severity="warn"
    }
}
"##;

fn lang() -> Workflow {
    workflow(LANG).unwrap_or_else(|errors| panic!("{}", render(&errors)))
}

#[test]
fn decodes_safety_local_and_fleet_checks() {
    let wf = lang();
    assert!(wf.destructive);
    let groups: Vec<&str> = wf.forbid_groups.iter().map(|g| g.value.as_str()).collect();
    assert_eq!(groups, ["prod", "staging"]);
    assert_eq!(wf.local.len(), 1);
    assert!(wf.local[0].local);
    assert!(matches!(
        wf.local[0].parse.as_ref().map(|p| &p.value),
        Some(Extractor::Json)
    ));
    assert_eq!(wf.local[0].exports[0].name, "latest_stemcell");
    assert_eq!(wf.fleet_checks.len(), 1);
    let check = &wf.fleet_checks[0];
    assert_eq!(check.name, "one-primary");
    assert_eq!(check.rules.len(), 2);
    assert_eq!(check.rules[1].severity, Severity::Warn);
}

#[test]
fn decodes_rules_parsers_and_exports() {
    let wf = lang();
    let disk = &wf.steps[0];
    assert!(disk.sudo);
    assert!(!disk.local);
    assert!(matches!(
        disk.parse.as_ref().map(|p| &p.value),
        Some(Extractor::Table(_))
    ));
    match &disk.rules[0].check {
        Check::Each { expr, filter, .. } => {
            assert_eq!(expr.value, "row.Capacity | number < 80");
            assert_eq!(
                filter.as_ref().map(|f| f.value.as_str()),
                Some("row['Mounted on'] != '/boot'")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(disk.rules[0].severity, Severity::Warn);
    assert!(matches!(
        &disk.rules[1].check,
        Check::Count {
            min: None,
            max: Some(0),
            ..
        }
    ));
    assert_eq!(disk.rules[1].severity, Severity::Fail);
    assert!(matches!(&disk.rules[2].check, Check::Expr(e) if e.value == "data | length > 0"));
    assert_eq!(disk.exports[0].name, "disk_use");
    let columns = &wf.steps[3];
    match columns.parse.as_ref().map(|p| &p.value) {
        Some(Extractor::Table(o)) => {
            assert_eq!(o.columns.as_deref().map(<[String]>::len), Some(4));
            assert_eq!(o.skip_lines, 1);
            assert!(!o.fill_down);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        wf.steps[4].parse.as_ref().map(|p| &p.value),
        Some(Extractor::Lines)
    ));
    assert!(matches!(
        wf.steps[2].parse.as_ref().map(|p| &p.value),
        Some(Extractor::Regex { all: true, .. })
    ));
}

#[test]
fn decodes_control_flow() {
    let wf = lang();
    let s = &wf.steps[1];
    assert_eq!(
        s.when.as_ref().map(|w| w.value.as_str()),
        Some("host.groups is not none")
    );
    let retry = s.retry.as_ref().expect("retry");
    assert_eq!(retry.attempts, 10);
    assert_eq!(retry.interval, Duration::from_secs(3));
    assert_eq!(
        retry.until.as_ref().map(|u| u.value.as_str()),
        Some("'1/1' not in stdout")
    );
    assert_eq!(s.on_failure, OnFailure::StopHost);
    assert_eq!(s.timeout, Some(Duration::from_secs(60)));
    assert!(matches!(
        s.parse.as_ref().map(|p| &p.value),
        Some(Extractor::KeyValue { separator: Some(sep) }) if sep == ":"
    ));
    assert!(wf.steps[2].local);
}

#[test]
fn include_shares_steps_and_reports_errors_in_the_included_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let shared = dir.path().join("shared.kdl");
    std::fs::write(
        &shared,
        "step disk {\n    run \"df -P\"\n}\nfleet-check f { expect \"true\" }\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let main = dir.path().join("main.kdl");
    std::fs::write(
        &main,
        "workflow w {\n    include \"shared.kdl\"\n    step after { run \"true\" }\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let wf = super::load_workflow(&main).unwrap_or_else(|e| panic!("{}", render(&e)));
    let names: Vec<&str> = wf.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["disk", "after"]);
    assert_eq!(wf.fleet_checks.len(), 1);
    assert!(
        wf.steps[0].span.location().ends_with("shared.kdl:1:1"),
        "{}",
        wf.steps[0].span.location()
    );

    std::fs::write(&shared, "step disk {\n    rnu \"df -P\"\n}\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let errors = super::load_workflow(&main)
        .err()
        .map(|e| render(&e))
        .unwrap_or_default();
    assert!(errors.contains("shared.kdl:2:5"), "{errors}");
    assert!(errors.contains("did you mean `run`?"), "{errors}");

    std::fs::write(&main, "workflow w {\n    include \"missing.kdl\"\n}\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let errors = super::load_workflow(&main)
        .err()
        .map(|e| render(&e))
        .unwrap_or_default();
    assert!(errors.contains("cannot include"), "{errors}");
}

#[test]
fn language_errors_point_into_the_string() {
    insta::assert_snapshot!(workflow_errors(
        r#"workflow w {
    step s {
        run "echo {{ host.name"
        parse tabel
        expect "row.Use | number <"
        expect-each "true" severity="fatal"
        expect-count "true"
        export disk-use "1"
        retry attempts=0
        on-failure "ignore"
    }
    fleet-check f { expect stdout contains="x" }
}
"#
    ));
}

#[test]
fn exit_in_lists_statuses_and_bad_items_point_at_themselves() {
    let wf = workflow(
        "workflow w { step s { run \"x\"; expect exit-in=\" 3,0, 3\" }; step t { run \"y\"; expect exit-in=1 }; step u { run \"z\" } }",
    )
    .unwrap_or_else(|errors| panic!("{}", render(&errors)));
    assert!(matches!(&wf.steps[0].rules[0].check, Check::Exit(c) if c == &[0, 3]));
    assert_eq!(wf.steps[0].accepted_exit_statuses(), [0, 3]);
    assert_eq!(wf.steps[1].accepted_exit_statuses(), [1]);
    assert_eq!(wf.steps[2].accepted_exit_statuses(), [0], "the default");
    assert!(!wf.steps[2].declares_exit());

    let errors = workflow_errors(
        "workflow w {\n    step s {\n        run \"x\"\n        expect exit-in=\"0,one,-1\"\n    }\n}\n",
    );
    assert!(
        errors.contains("`one` is not an exit status in `exit-in`"),
        "{errors}"
    );
    assert!(errors.contains("workflows/test.kdl:4:27"), "{errors}");
    assert!(errors.contains("`-1` is not an exit status"), "{errors}");
    assert!(errors.contains("workflows/test.kdl:4:31"), "{errors}");
    let errors = workflow_errors("workflow w { step s { run \"x\"; expect exit-in=\"0,\" } }");
    assert!(errors.contains("an empty item in `exit-in`"), "{errors}");
}

#[test]
fn exit_rules_are_declared_once_and_never_as_warnings() {
    let errors =
        workflow_errors("workflow w { step s { run \"x\"; expect exit=0; expect exit-in=\"1\" } }");
    assert!(
        errors.contains("a step declares its exit statuses once"),
        "{errors}"
    );
    let errors =
        workflow_errors("workflow w { step s { run \"x\"; expect exit=0 exit-in=\"1\" } }");
    assert!(
        errors.contains("`exit=` and `exit-in=` in one rule"),
        "{errors}"
    );
    let errors = workflow_errors(
        "workflow w { step s { run \"x\"; expect exit-in=\"0,1\" severity=\"warn\" } }",
    );
    assert!(
        errors.contains("`severity=` does not apply to an exit rule"),
        "{errors}"
    );
}

#[test]
fn each_takes_empty_pass_or_fail() {
    let wf = workflow(
        "workflow w { step s { run \"x\"; parse lines; expect-each \"row\" empty=\"pass\"; expect-each \"row\"; expect-each \"row\" empty=\"fail\" } }",
    )
    .unwrap_or_else(|errors| panic!("{}", render(&errors)));
    let empties: Vec<bool> = wf.steps[0]
        .rules
        .iter()
        .map(|r| {
            matches!(
                r.check,
                Check::Each {
                    empty_passes: true,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(empties, [true, false, false]);
    let errors = workflow_errors(
        "workflow w { step s { run \"x\"; parse lines; expect-each \"row\" empty=\"ok\" } }",
    );
    assert!(errors.contains("unknown `empty` value `ok`"), "{errors}");
}

#[test]
fn requires_takes_variable_names_and_tty_is_for_hosts() {
    let wf =
        workflow("workflow w { step s { run \"{{ a }}\"; requires \"a\" \"b_2\"; tty #true } }")
            .unwrap_or_else(|errors| panic!("{}", render(&errors)));
    let names: Vec<&str> = wf.steps[0]
        .requires
        .iter()
        .map(|r| r.value.as_str())
        .collect();
    assert_eq!(names, ["a", "b_2"]);
    assert!(wf.steps[0].tty);
    let errors = workflow_errors("workflow w { step s { run \"x\"; requires \"{{ a }}\" } }");
    assert!(
        errors.contains("`{{ a }}` is not a variable name"),
        "{errors}"
    );
    let errors = workflow_errors("workflow w { step s { run \"x\"; requires } }");
    assert!(
        errors.contains("`requires` needs at least one variable name"),
        "{errors}"
    );
    let errors = workflow_errors("workflow w { local l { run \"x\"; tty #true } }");
    assert!(
        errors.contains("`tty` applies to commands on hosts, not `local` steps"),
        "{errors}"
    );
    let errors = workflow_errors("workflow w { step s { run \"x\"; local #true; tty #true } }");
    assert!(errors.contains("not `local` steps"), "{errors}");
}
