//! Rendered diagnostics, one snapshot per error kind, exactly as the CLI
//! prints them (without colour): location, snippet, label and help.

use insta::assert_snapshot;

use super::LoadError;
use crate::load::test_support::{inventory_errors, render, workflow_errors};
use crate::model::{SourceFile, Span};

#[test]
fn unknown_node_with_did_you_mean() {
    assert_snapshot!(workflow_errors(
        "workflow w {\n    stpe s { run \"x\" }\n    step t { run \"y\" }\n}\n"
    ));
}

#[test]
fn unknown_property() {
    assert_snapshot!(workflow_errors(
        "workflow w {\n    step s {\n        run \"x\"\n        expect stdout contains=\"ok\" mesage=\"m\"\n    }\n}\n"
    ));
}

#[test]
fn wrong_type() {
    assert_snapshot!(workflow_errors(
        "workflow w {\n    forks \"x\"\n    step s { run \"x\" }\n}\n"
    ));
}

#[test]
fn quoted_number() {
    assert_snapshot!(inventory_errors("host a port=\"22\"\n"));
}

#[test]
fn bad_duration() {
    assert_snapshot!(workflow_errors(
        "workflow w {\n    timeout \"2 minutez\"\n    step s { run \"x\" }\n}\n"
    ));
}

#[test]
fn bad_regex() {
    assert_snapshot!(workflow_errors(
        "workflow w {\n    step s {\n        run \"x\"\n        expect stdout matches=\"(unclosed\"\n    }\n}\n"
    ));
}

#[test]
fn duplicate_step() {
    assert_snapshot!(workflow_errors(
        "workflow w {\n    step disk { run \"df\" }\n    step load { run \"uptime\" }\n    step disk { run \"du\" }\n}\n"
    ));
}

#[test]
fn duplicate_host() {
    assert_snapshot!(inventory_errors(
        "group prod {\n    host web-1 address=\"10.0.0.1\"\n}\nhost web-1 address=\"10.0.0.2\"\n"
    ));
}

#[test]
fn bad_port() {
    assert_snapshot!(inventory_errors("defaults {\n    port 70000\n}\n"));
}

#[test]
fn bare_true() {
    assert_snapshot!(workflow_errors(
        "workflow w {\n    vars { enabled true }\n    step s { run \"x\" }\n}\n"
    ));
}

#[test]
fn kdl_syntax_error() {
    assert_snapshot!(workflow_errors("workflow w {\n    step s { run \"x }\n}\n"));
}

#[test]
fn backslash_in_quoted_regex() {
    assert_snapshot!(workflow_errors(
        "workflow w {\n    step s {\n        run \"x\"\n        expect stdout matches=\"\\d+\"\n    }\n}\n"
    ));
}

#[test]
fn missing_run() {
    assert_snapshot!(workflow_errors(
        "workflow w {\n    step disk {\n        timeout \"5s\"\n    }\n}\n"
    ));
}

#[test]
fn var_name_with_dash() {
    assert_snapshot!(workflow_errors(
        "workflow w {\n    vars {\n        disk-max 80\n    }\n    step s { run \"x\" }\n}\n"
    ));
}

#[test]
fn incomplete_expect() {
    assert_snapshot!(workflow_errors(
        "workflow w {\n    step s {\n        run \"x\"\n        expect stdout\n        expect stdoot contains=\"a\"\n        expect exit=0 contains=\"a\"\n    }\n}\n"
    ));
}

#[test]
fn no_steps_and_no_name() {
    assert_snapshot!(workflow_errors(
        "workflow {\n    description \"empty\"\n}\n"
    ));
}

#[test]
fn no_workflow_node() {
    assert_snapshot!(workflow_errors("step s { run \"x\" }\n"));
}

#[test]
fn unknown_inventory_node() {
    assert_snapshot!(inventory_errors(
        "group prod {\n    usr \"ops\"\n    host a adress=\"10.0.0.1\"\n}\n"
    ));
}

#[test]
fn multiple_errors_reported_together() {
    assert_snapshot!(workflow_errors(
        r#"workflow weekly {
    forks -1
    timeout "fast"
    vars { disk-max 80 }
    step disk {
        run "df -h"
        expect stdout matches="[0-9"
    }
    step disk {
        expect exit=0
    }
}
"#
    ));
}

#[test]
fn error_built_by_another_layer() {
    let source = SourceFile::new(
        "workflows/test.kdl",
        "workflow w {\n    step s { run \"echo {{ hst }}\" }\n}\n",
    );
    let offset = source.text.find("{{").expect("template in text");
    let span = Span::new(&source, offset, "{{ hst }}".len());
    let error = LoadError::at(
        &span,
        "undefined variable `hst`",
        Some("did you mean `host`?".to_owned()),
    );
    assert_eq!(error.location(), "workflows/test.kdl:2:24");
    assert_snapshot!(render(&error));
}

#[test]
fn unreadable_file() {
    let error = LoadError::io(
        std::path::Path::new("workflows/absent.kdl"),
        &std::io::Error::from(std::io::ErrorKind::NotFound),
    );
    assert_snapshot!(render(&super::LoadErrors::from(error)));
}

#[test]
fn empty_file() {
    assert_snapshot!(workflow_errors(""));
}

#[test]
fn repeated_setting_and_property() {
    assert_snapshot!(workflow_errors(
        "workflow w {\n    description \"a\"\n    description \"b\"\n    step s { run \"x\"; expect exit=0 exit=1 }\n}\n"
    ));
}

#[test]
fn inventory_shape_errors() {
    assert_snapshot!(inventory_errors(
        "defaults { port 22 2222; user \"\" }\nhost\ngroup g x=1 { vars { a } }\nhost ok { user \"u\" }\n"
    ));
}

#[test]
fn bad_exit_in_item() {
    assert_snapshot!(workflow_errors(
        "workflow w {\n    step s {\n        run \"grep -q x f\"\n        expect exit-in=\"0,1,two\"\n    }\n}\n"
    ));
}
