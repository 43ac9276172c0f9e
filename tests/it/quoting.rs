//! Issue 12, quoting by default: what a host prints stays data in every
//! command, on the host (real sshd) and on the controller.

use crate::cli::{fleet, run_workflow};
use crate::harness::Hosts;

/// The attack of issue 12, reproduced: a host prints
/// `1;touch pwned-by-$(hostname);#`, a step exports it, and a `local` step
/// (on the controller, once per host) uses it. Before quoting, the local
/// step created the file as the operator.
#[test]
fn a_hosts_exported_output_runs_nothing_on_the_controller() {
    let hosts = Hosts::start(1);
    let dir = hosts.dir().display().to_string();
    let workflow = format!(
        r##"
workflow attack {{
    timeout "20s"
    step motd {{
        run #"printf '%s\n' '1;touch pwned-by-$(hostname);#'"#
        export banner "stdout | trim"
    }}
    step notify {{
        local #true
        run "cd {dir} && echo {{{{ banner }}}}"
        expect exit=0
    }}
}}
"##
    );
    let out = run_workflow(&hosts, &workflow).run();
    out.expect_code(0);
    let pwned: Vec<_> = std::fs::read_dir(hosts.dir())
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        !pwned
            .iter()
            .any(|n| n.to_string_lossy().starts_with("pwned-by-")),
        "the host's output ran on the controller: {pwned:?}"
    );
    let name = out.json()["hosts"][0]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        out.step(&name, "notify")["stdout"]["text"],
        "1;touch pwned-by-$(hostname);#\n",
        "{}",
        out.stdout
    );
}

/// The property: for hostile strings `s` (quotes, `$()`, backticks,
/// newlines, `;|&`, globs, non-ASCII), `printf %s {{ s }}` prints exactly
/// `s` on a real sshd and on the controller.
#[test]
fn printf_prints_every_hostile_value_exactly_on_sshd_and_locally() {
    let hosts = Hosts::start(1);
    let cases = fleet::expr::shell::hostile_strings(2026, 32);
    let mut steps = String::new();
    for i in 0..cases.len() {
        steps.push_str(&format!(
            "    step r{i} {{ run \"printf %s {{{{ s{i} }}}}\"; expect exit=0; }}\n    step l{i} {{ local #true; run \"printf %s {{{{ s{i} }}}}\"; expect exit=0; }}\n"
        ));
    }
    let workflow = format!("workflow prop {{\n    timeout \"20s\"\n{steps}}}\n");
    let wf = hosts
        .write_file("prop.kdl", &workflow)
        .display()
        .to_string();
    let inv = hosts.write_inventory("hosts").display().to_string();
    let mut run = fleet(&["run", &wf, "--inventory", &inv]).json_in(hosts.dir());
    for (i, s) in cases.iter().enumerate() {
        // As a JSON string: `--set` then takes it exactly, never as a number or list.
        let json = serde_json::to_string(s).unwrap_or_else(|e| panic!("{e}"));
        run = run.arg("--set").arg(format!("s{i}={json}"));
    }
    let out = run.run();
    out.expect_code(0);
    let name = out.json()["hosts"][0]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for (i, s) in cases.iter().enumerate() {
        for step in [format!("r{i}"), format!("l{i}")] {
            assert_eq!(
                out.step(&name, &step)["stdout"]["text"].as_str(),
                Some(s.as_str()),
                "step {step}: {}",
                out.step(&name, &step)["command"]
            );
        }
    }
}

/// `fleet check` shows each command as it will run, quoting included.
#[test]
fn check_shows_the_rendered_quoted_command() {
    let hosts = Hosts::start(1);
    let wf = hosts.write_file(
        "show.kdl",
        r#"workflow show { step s { run "printf %s {{ s }} {{ tool | raw }}" } }"#,
    );
    let inv = hosts.write_inventory("hosts");
    let out = fleet(&[
        "check".to_string(),
        wf.display().to_string(),
        "--inventory".into(),
        inv.display().to_string(),
        "--set".into(),
        "s=it's $(id);".into(),
        "--set".into(),
        "tool=| wc -c".into(),
    ])
    .run();
    out.expect_code(0);
    assert!(
        out.stdout
            .contains(r"  - s: printf %s 'it'\''s $(id);' | wc -c"),
        "{}",
        out.stdout
    );
}
