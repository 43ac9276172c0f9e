//! Decoding of the language's richer nodes: parsers, expression rules,
//! exports, control flow, local steps, fleet checks, includes, safety.

use std::time::Duration;

use super::test_support::{render, workflow, workflow_errors};
use crate::extract::Extractor;
use crate::model::{Check, OnFailure, Severity, Workflow};

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
