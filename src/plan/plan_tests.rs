use super::*;
use crate::load::{parse_inventory, parse_workflow};
use crate::model::SourceFile;

fn inventory() -> Inventory {
    let text = r#"
defaults { vars { level "defaults"; region "eu" } }
group prod {
    vars { level "group" }
    host a { vars { level "host" } }
    host b
}
group dr { host d }
host c
"#;
    parse_inventory(SourceFile::new("inventory/t.kdl", text)).unwrap_or_else(|e| panic!("{e:?}"))
}

fn workflow(text: &str) -> Workflow {
    parse_workflow(SourceFile::new("workflows/w.kdl", text)).unwrap_or_else(|e| panic!("{e:?}"))
}

fn var(p: &Plan, host: &str, name: &str) -> serde_json::Value {
    p.hosts
        .iter()
        .find(|h| h.host.name == host)
        .and_then(|h| h.vars.get(name).cloned())
        .unwrap_or_else(|| panic!("no {name} for {host}"))
}

fn errors(wf: &str, set: &[SetVar]) -> Vec<String> {
    match plan(workflow(wf), &inventory(), &[], set) {
        Err(PlanError::Templates(errors)) => errors
            .0
            .iter()
            .map(|e| format!("{} {}", e.location(), e.message()))
            .collect(),
        Err(e) => panic!("{e}"),
        Ok(_) => Vec::new(),
    }
}

#[test]
fn variables_follow_precedence() {
    let wf = workflow(
        r#"workflow w { vars { level "workflow"; only_wf 1 }; step s { run "{{ level }}" } }"#,
    );
    let p = plan(wf.clone(), &inventory(), &[], &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(var(&p, "a", "level"), "host");
    assert_eq!(var(&p, "b", "level"), "group");
    assert_eq!(var(&p, "c", "level"), "defaults");
    assert_eq!(var(&p, "c", "only_wf"), 1);
    let set: Vec<SetVar> = ["level=cli", "only_wf=2"]
        .iter()
        .map(|s| s.parse().unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let p = plan(wf, &inventory(), &["c".to_string()], &set).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(var(&p, "c", "level"), "cli");
    assert_eq!(var(&p, "c", "only_wf"), 2);
    assert_eq!(p.globals.get("level"), Some(&serde_json::json!("cli")));
}

#[test]
fn workflow_hosts_narrow_the_limit() {
    let wf = workflow(r#"workflow w { hosts "group:prod"; step s { run "true" } }"#);
    let p = plan(wf.clone(), &inventory(), &[], &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.hosts.len(), 2);
    let p = plan(wf, &inventory(), &["b,c".to_string()], &[]).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = p.hosts.iter().map(|h| h.host.name.as_str()).collect();
    assert_eq!(names, ["b"]);
}

#[test]
fn forbidden_groups_refuse_hosts_even_when_selected() {
    let wf = workflow(r#"workflow w { forbid-groups "prod"; step s { run "true" } }"#);
    let p = plan(wf, &inventory(), &["a,d".to_string()], &[]).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = p.hosts.iter().map(|h| h.host.name.as_str()).collect();
    assert_eq!(names, ["d"]);
    assert_eq!(p.refused.len(), 1);
    assert_eq!(p.refused[0].host.name, "a");
    assert!(
        p.refused[0].reason.contains("group `prod`"),
        "{}",
        p.refused[0].reason
    );
    let wf = workflow(r#"workflow w { forbid-groups "production"; step s { run "true" } }"#);
    assert!(matches!(
        plan(wf, &inventory(), &[], &[]),
        Err(PlanError::Templates(_))
    ));
}

#[test]
fn set_values_are_json_when_they_parse() {
    let v: SetVar = "n=80".parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v.value, serde_json::json!(80));
    let v: SetVar = "s=hello world".parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v.value, serde_json::json!("hello world"));
    let v: SetVar = "v=621.70".parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v.value, serde_json::json!("621.70"));
    let v: SetVar = "b=true".parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v.value, serde_json::json!(true));
    assert!("novalue".parse::<SetVar>().is_err());
    assert!("disk-max=1".parse::<SetVar>().is_err());
}

#[test]
fn undefined_names_are_found_everywhere_in_one_pass() {
    let wf = "workflow w {\n  step s {\n    run \"echo {{ nope }}\"\n    parse table\n    expect-each \"row.Use | number < limit\" message=\"{{ row.x }} {{ typo }}\"\n    export used \"data | length\"\n  }\n  step t {\n    when \"used > 0 and unknown_flag\"\n    run \"echo {{ used }} {{ data }}\"\n  }\n  fleet-check f { expect \"hosts | length > minimum\" }\n}\n";
    assert_eq!(
        errors(wf, &[]),
        [
            "workflows/w.kdl:3:18 undefined variable `nope` (for host `a`)",
            "workflows/w.kdl:5:37 undefined variable `limit` (for host `a`)",
            "workflows/w.kdl:5:68 undefined variable `typo` (for host `a`)",
            "workflows/w.kdl:9:24 undefined variable `unknown_flag` (for host `a`)",
            "workflows/w.kdl:10:29 undefined variable `data` (for host `a`)",
            "workflows/w.kdl:12:44 undefined variable `minimum` (for fleet checks)",
        ]
    );
    let set: Vec<SetVar> = [
        "nope=1",
        "limit=80",
        "typo=x",
        "unknown_flag=true",
        "minimum=1",
    ]
    .iter()
    .map(|s| s.parse().unwrap_or_else(|e| panic!("{e}")))
    .collect();
    assert_eq!(
        errors(wf, &set),
        ["workflows/w.kdl:10:29 undefined variable `data` (for host `a`)"]
    );
}

#[test]
fn requires_names_are_checked_like_every_other_name() {
    let wf = "workflow w {\n  vars { quickstart_cmd #null }\n  step s {\n    requires \"quickstart_cmd\" \"quickstart_comd\"\n    run \"{{ quickstart_cmd }}\"\n  }\n}\n";
    assert_eq!(
        errors(wf, &[]),
        ["workflows/w.kdl:4:32 undefined variable `quickstart_comd` (for host `a`)"]
    );
}

#[test]
fn exports_of_local_steps_are_visible_to_hosts_and_fleet_checks() {
    let wf = r#"workflow w {
            local latest { run "echo 1.2"; export latest_version "stdout | trim" }
            step s { run "echo {{ latest_version }}"; export v "stdout" }
            fleet-check same { expect "hosts | map(attribute='v') | unique | list | length == 1 and latest_version" }
        }"#;
    assert_eq!(errors(wf, &[]), Vec::<String>::new());
}
