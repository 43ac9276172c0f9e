//! docs/schedule.md and its example files stay true: the alert rules pass
//! Prometheus' own checker and unit tests, and the units and rules shown
//! on the page are the ones in docs/examples/.

use std::path::Path;
use std::process::Command;

use crate::tools::tool;

fn examples() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/examples"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn alert_rules_pass_promtool_check_and_its_unit_tests() {
    let Some(promtool) = tool("promtool", "alert rules with promtool", "prometheus") else {
        return;
    };
    for args in [
        ["check", "rules", "fleet-alerts.yml"],
        ["test", "rules", "fleet-alerts.test.yml"],
    ] {
        let out = Command::new(&promtool)
            .args(args)
            .current_dir(examples())
            .output()
            .expect("run promtool");
        assert!(
            out.status.success(),
            "promtool {args:?}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The fenced block of `lang` that follows the first line containing
/// `after`.
fn block<'a>(doc: &'a str, after: &str, lang: &str) -> Vec<&'a str> {
    let start = doc
        .find(after)
        .unwrap_or_else(|| panic!("no `{after}` in docs/schedule.md"));
    doc[start..]
        .lines()
        .skip_while(|l| *l != format!("```{lang}"))
        .skip(1)
        .take_while(|l| *l != "```")
        .collect()
}

#[test]
fn the_schedule_page_shows_the_example_files() {
    let doc = read(&examples().join("../schedule.md"));
    for file in ["fleet-weekly.service", "fleet-weekly.timer"] {
        let text = read(&examples().join(file));
        let expected: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .collect();
        let shown: Vec<&str> = block(&doc, &format!("(examples/{file})"), "ini")
            .into_iter()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(shown, expected, "{file} as shown in docs/schedule.md");
    }
    let rules = read(&examples().join("fleet-alerts.yml"));
    let shown = block(&doc, "(examples/fleet-alerts.yml)", "yaml");
    let key_lines: Vec<&&str> = shown
        .iter()
        .filter(|l| l.contains("alert:") || l.contains("expr:"))
        .collect();
    assert_eq!(key_lines.len(), 10, "5 alerts with their expressions");
    for line in key_lines {
        assert!(
            rules.lines().any(|r| r == *line),
            "docs/schedule.md shows `{line}`, which fleet-alerts.yml does not have"
        );
    }
}

/// The example units load in systemd: `systemd-analyze verify` with the
/// ExecStart binary pointed at the one under test (it must exist and be
/// executable) reports nothing.
#[test]
fn example_systemd_units_verify() {
    let Some(analyze) = tool(
        "systemd-analyze",
        "systemd units in docs/examples",
        "systemd",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    for unit in ["fleet-weekly.service", "fleet-weekly.timer"] {
        let text =
            read(&examples().join(unit)).replace("/usr/bin/fleet", env!("CARGO_BIN_EXE_fleet"));
        std::fs::write(dir.path().join(unit), text).expect("write unit");
    }
    let out = Command::new(analyze)
        .args(["verify", "--man=no"])
        .arg(dir.path().join("fleet-weekly.timer"))
        .arg(dir.path().join("fleet-weekly.service"))
        .output()
        .expect("run systemd-analyze");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "{stderr}");
}
