//! The monitoring formats from a real run over real sshd, each read by its
//! real consumer: the Prometheus file by `promtool check metrics` (the
//! parser and linter Prometheus ships), the TAP file by Perl's `prove`, the
//! Nagios output by the plugin convention's grammar and exit statuses.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cli::{Outcome, fleet};
use crate::harness::Hosts;
use crate::reports::assert_junit_valid;
use crate::tools::tool;

/// host-2's disk is 93 % (the disk step fails there), host-3's 75 % (a
/// warning), `down` refuses connections. Every host that answers exports
/// `disk_use`.
const WORKFLOW: &str = r##"
workflow disks {
    timeout "20s"
    step disk {
        run "cat DIR/disk-{{ host.name }} 2>/dev/null || echo 40"
        expect "stdout | trim | int < 80" message="disk on {{ host.name }} is {{ stdout | trim }}% full"
        expect "stdout | trim | int < 70" severity="warn" message="disk on {{ host.name }} above 70%"
        export disk_use "stdout | trim | int"
    }
    step uptime {
        run "uptime"
    }
}
"##;

/// Runs [`WORKFLOW`] with `extra` arguments; returns the outcome.
pub(crate) fn disks_run(hosts: &Hosts, extra: &[String]) -> Outcome {
    let dir = hosts.dir().display().to_string();
    let wf = hosts.write_file("disks.kdl", &WORKFLOW.replace("DIR", &dir));
    hosts.write_file("disk-host-2", "93\n");
    hosts.write_file("disk-host-3", "75\n");
    let inv = hosts.write_inventory("hosts");
    let mut f = fleet(&[
        "run".to_string(),
        wf.display().to_string(),
        "--inventory".into(),
        inv.display().to_string(),
    ]);
    for a in extra {
        f = f.arg(a);
    }
    f.run()
}

fn report_arg(format: &str, path: &Path) -> [String; 2] {
    ["--report".into(), format!("{format}={}", path.display())]
}

/// `promtool check metrics` on `file`: parse errors and lint problems
/// (naming, units, `_total` on gauges, missing HELP) fail the test.
pub(crate) fn assert_promtool_accepts(promtool: &Path, file: &Path) -> String {
    let text = std::fs::read_to_string(file).expect("prometheus file written");
    let out = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(file).expect("open prometheus file"))
        .output()
        .expect("run promtool");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics rejected the file\n{}{}\n--- file\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Every sample of a Prometheus text file as prometheus-client's own
/// parser reads it, one `name{label="value",…} value` per line, labels
/// sorted, values as the parser returns them (`1`, `93.5`). A file it rejects
/// fails the test with the parser's error.
pub(crate) fn python_prometheus_samples(venv_bin: &Path, file: &Path) -> Vec<String> {
    const READ: &str = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
for family in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in family.samples:
        labels = ",".join('%s="%s"' % kv for kv in sorted(s.labels.items()))
        print("%s{%s} %r" % (s.name, labels, s.value))
"#;
    let out = Command::new(venv_bin.join("python"))
        .args(["-c", READ])
        .arg(file)
        .output()
        .expect("run prometheus-client's parser");
    assert!(
        out.status.success(),
        "prometheus-client's parser rejected {}\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// `prove` on a TAP file (through `cat`); returns its output and whether
/// it judged the run a pass.
pub(crate) fn prove(prove: &Path, file: &Path) -> (String, bool) {
    let out = Command::new(prove)
        .args(["--verbose", "--exec", "cat"])
        .arg(file)
        .output()
        .expect("run prove");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("Parse errors"),
        "prove could not parse the TAP\n{text}"
    );
    (text, out.status.success())
}

pub(crate) fn line_with<'a>(text: &'a str, parts: &[&str]) -> Option<&'a str> {
    text.lines()
        .find(|l| !l.starts_with('#') && parts.iter().all(|p| l.contains(p)))
}

#[test]
fn prometheus_file_passes_promtool_and_holds_statuses_counts_and_exports() {
    let Some(promtool) = tool("promtool", "Prometheus report with promtool", "prometheus") else {
        return;
    };
    let hosts = Hosts::builder().hosts(3).refusing("down").build();
    let prom: PathBuf = hosts.dir().join("fleet.prom");
    let out = disks_run(&hosts, &report_arg("prometheus", &prom));
    out.expect_code(3);
    let text = assert_promtool_accepts(&promtool, &prom);
    let value = |parts: &[&str]| -> String {
        let line = line_with(&text, parts).unwrap_or_else(|| panic!("no {parts:?}\n{text}"));
        line.rsplit(' ').next().unwrap_or_default().to_string()
    };
    let disk_of_host_2 = |status: &str| {
        value(&[
            "fleet_step_status{",
            r#"host="host-2""#,
            r#"step="disk""#,
            &format!("status=\"{status}\""),
        ])
    };
    assert_eq!(disk_of_host_2("failed"), "1");
    assert_eq!(disk_of_host_2("passed"), "0");
    assert_eq!(
        value(&[
            "fleet_export_disk_use{",
            r#"host="host-2""#,
            r#"groups=",all-hosts,""#
        ]),
        "93"
    );
    assert_eq!(value(&["fleet_run_hosts{", r#"status="unreachable""#]), "1");
    // The second reader: prometheus-client's parser sees every sample
    // promtool saw, with the same values.
    if let Some(venv) = crate::tools::validators_venv("Prometheus report with prometheus-client") {
        let samples = python_prometheus_samples(&venv, &prom);
        let promtool_samples = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty());
        assert_eq!(
            samples.len(),
            promtool_samples.count(),
            "{samples:#?}\n{text}"
        );
        let number = |sample: &str| -> f64 {
            let value = sample.rsplit(' ').next().unwrap_or_default();
            value.parse().unwrap_or_else(|e| panic!("{sample}: {e}"))
        };
        let sample = |parts: &[&str]| {
            let found = samples.iter().find(|s| parts.iter().all(|p| s.contains(p)));
            found
                .cloned()
                .unwrap_or_else(|| panic!("no {parts:?}\n{samples:#?}"))
        };
        let disk = sample(&["fleet_export_disk_use{", r#"host="host-2""#]);
        assert_eq!(number(&disk), 93.0, "{disk}");
        let failed = sample(&[
            "fleet_step_status{",
            r#"host="host-2""#,
            r#"step="disk""#,
            r#"status="failed""#,
        ]);
        assert_eq!(number(&failed), 1.0, "{failed}");
    }
    assert_eq!(
        value(&["fleet_run_unreachable_hosts{", r#"kind="refused""#]),
        "1"
    );
    assert_eq!(
        value(&[
            "fleet_host_status{",
            r#"host="down""#,
            r#"status="unreachable""#
        ]),
        "1"
    );
    assert_eq!(value(&["fleet_run_exit_code{"]), "3");
    assert!(
        line_with(&text, &["fleet_export_disk_use{", r#"host="down""#]).is_none(),
        "an unreachable host exports nothing\n{text}"
    );
    // Written atomically: no temporary file is left beside it.
    let leftovers: Vec<_> = std::fs::read_dir(hosts.dir())
        .expect("list dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("fleet.prom."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn tap_file_is_read_by_prove_with_one_point_per_host_and_step() {
    let Some(prove_bin) = tool("prove", "TAP report with prove", "perl") else {
        return;
    };
    let hosts = Hosts::builder().hosts(3).refusing("down").build();
    let tap = hosts.dir().join("fleet.tap");
    disks_run(&hosts, &report_arg("tap", &tap)).expect_code(3);
    let (out, passed) = prove(&prove_bin, &tap);
    assert!(!passed, "a failed disk must fail the TAP run\n{out}");
    // 3 hosts × 2 steps + one `connect` point for the unreachable host.
    assert!(out.contains("Tests=7"), "{out}");
    assert!(out.contains("Failed: 2"), "{out}");
    assert!(out.contains("not ok 3 - host-2: disk"), "{out}");
    let text = std::fs::read_to_string(&tap).expect("tap written");
    assert!(text.contains("disk on host-2 is 93% full"), "{text}");
    assert!(
        text.contains("ok 5 - host-3: disk\n  ---\n  status: \"WARNED\""),
        "{text}"
    );
}

pub(crate) fn nagios_line(out: &Outcome) -> (&str, &str) {
    let first = out.stdout.lines().next().unwrap_or_default();
    let (text, perf) = first
        .split_once(" | ")
        .unwrap_or_else(|| panic!("no perfdata in {first:?}\n{}", out.stdout));
    (text, perf)
}

/// Each perfdata item by the plugin guidelines' grammar:
/// `'label'=value[UOM];[warn];[crit];[min];[max]`.
pub(crate) fn perfdata(perf: &str) -> Vec<(String, f64)> {
    let item = regex::Regex::new(
        r"^('(?:[^'=]|'')+'|[^'= ]+)=(-?[0-9.]+)(s|us|ms|%|B|KB|MB|TB|c)?(;[0-9.:~@-]*){0,4}$",
    )
    .expect("regex");
    let mut items = Vec::new();
    let mut rest = perf.trim();
    while !rest.is_empty() {
        // A quoted label may hold spaces: the item ends at the first space
        // after the `=`.
        let eq = rest.find("=").unwrap_or_else(|| panic!("no = in {rest:?}"));
        let end = rest[eq..].find(' ').map_or(rest.len(), |i| eq + i);
        let one = &rest[..end];
        let caps = item
            .captures(one)
            .unwrap_or_else(|| panic!("perfdata item {one:?} breaks the plugin grammar"));
        items.push((
            caps[1].trim_matches('\'').replace("''", "'"),
            caps[2].parse().expect("number"),
        ));
        rest = rest[end..].trim_start();
    }
    items
}

#[test]
fn nagios_mode_prints_one_status_line_with_perfdata_and_exits_by_the_plugin_convention() {
    let hosts = Hosts::builder().hosts(3).refusing("down").build();
    let nagios = ["--nagios".to_string()];
    let out = disks_run(&hosts, &nagios);
    out.expect_code(2);
    let (text, perf) = nagios_line(&out);
    assert!(
        text.starts_with("FLEET CRITICAL - disks on hosts: "),
        "{text}"
    );
    assert!(text.contains("1 failed (host-2)"), "{text}");
    assert!(text.contains("1 unreachable (down)"), "{text}");
    let items = perfdata(perf);
    assert!(
        items.contains(&("host-2 disk_use".to_string(), 93.0)),
        "{items:?}"
    );
    assert!(
        items.contains(&("hosts_unreachable".to_string(), 1.0)),
        "{items:?}"
    );
    assert!(
        out.stdout
            .contains("\nhost-2 disk: FAILED disk on host-2 is 93% full\n"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("Changes since"), "{}", out.stdout);

    // Only host-3's warning left: WARNING.
    let warned = Hosts::builder().host("host-3").build();
    let out = disks_run(&warned, &nagios);
    out.expect_code(1);
    assert!(
        nagios_line(&out).0.starts_with("FLEET WARNING - "),
        "{}",
        out.stdout
    );

    // All well: OK.
    let healthy = Hosts::builder().host("host-1").build();
    let out = disks_run(&healthy, &nagios);
    out.expect_code(0);
    assert!(
        nagios_line(&out)
            .0
            .starts_with("FLEET OK - disks on hosts: 1 of 1 hosts ok"),
        "{}",
        out.stdout
    );

    // A usage or configuration error: UNKNOWN.
    let out = fleet(&["run", "no-such-workflow", "-i", "x", "--nagios"]).run();
    out.expect_code(3);
    assert!(out.stdout.starts_with("FLEET UNKNOWN - "), "{}", out.stdout);
    let out = fleet(&["run", "--nagios", "--no-such-flag"]).run();
    out.expect_code(3);
    assert!(out.stdout.starts_with("FLEET UNKNOWN - "), "{}", out.stdout);
}

/// A waivers file in the fleet's directory: host-2's disk waived until
/// `expires`, and one waiver for a host that does not fail.
fn waivers_file(hosts: &Hosts, expires: &str) -> PathBuf {
    hosts.write_file(
        "waivers.kdl",
        &format!(
            "waiver host=\"host-2\" step=\"disk\" reason=\"data moves to the new SAN (CHG-1182)\" expires=\"{expires}\"\n\
             waiver group=\"all-hosts\" step=\"uptime\" reason=\"never fails\" expires=\"2099-01-01\"\n"
        ),
    )
}

#[test]
fn a_waived_failure_is_reported_waived_everywhere_and_does_not_fail_the_run() {
    let hosts = Hosts::start(3);
    let waivers = waivers_file(&hosts, "2099-12-31");
    let junit = hosts.dir().join("out.xml");
    let prom = hosts.dir().join("out.prom");
    let tap = hosts.dir().join("out.tap");
    let json = hosts.dir().join("out.json");
    let mut args = vec!["--waivers".to_string(), waivers.display().to_string()];
    for (format, path) in [
        ("junit", &junit),
        ("prometheus", &prom),
        ("tap", &tap),
        ("json", &json),
    ] {
        args.extend(report_arg(format, path));
    }
    let out = disks_run(&hosts, &args);
    // host-3 still warns; the waived failure no longer fails the run.
    out.expect_code(0);
    assert!(
        out.stdout
            .contains("~ host-2 · disk  WAIVED — disk on host-2 is 93% full"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("waived: data moves to the new SAN (CHG-1182) (until 2099-12-31, "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("(group all-hosts, step uptime) matched no failure in this run"),
        "{}",
        out.stdout
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("valid json");
    let step = &report["hosts"][1]["steps"][0];
    assert_eq!(step["status"], "WAIVED", "{step}");
    assert_eq!(step["waiver"]["expires"], "2099-12-31", "{step}");
    assert_eq!(report["totals"]["steps_waived"], 1);
    assert_eq!(report["hosts"][1]["status"], "OK");

    let xml = match tool(
        "xmllint",
        "waived JUnit against its schema",
        "libxml2-utils",
    ) {
        Some(xmllint) => assert_junit_valid(&xmllint, &junit),
        None => std::fs::read_to_string(&junit).expect("junit"),
    };
    assert!(
        xml.contains("<skipped message=\"waived: data moves to the new SAN (CHG-1182)"),
        "{xml}"
    );
    if let Some(promtool) = tool("promtool", "Prometheus report with promtool", "prometheus") {
        let text = assert_promtool_accepts(&promtool, &prom);
        let waived = line_with(
            &text,
            &[
                "fleet_step_status{",
                r#"host="host-2""#,
                r#"step="disk""#,
                r#"status="waived""#,
            ],
        );
        assert!(waived.is_some_and(|l| l.ends_with(" 1")), "{text}");
    }
    if let Some(prove_bin) = tool("prove", "TAP report with prove", "perl") {
        let (text, passed) = prove(&prove_bin, &tap);
        // TODO points do not fail a TAP run, but stay visible.
        assert!(passed, "{text}");
        assert!(
            text.contains("# TODO waived: data moves to the new SAN"),
            "{text}"
        );
    }
}

#[test]
fn an_expired_waiver_warns_and_the_failure_fails_the_run_again() {
    let hosts = Hosts::start(3);
    let waivers = waivers_file(&hosts, "2020-01-31");
    let args = ["--waivers".to_string(), waivers.display().to_string()];
    let out = disks_run(&hosts, &args);
    out.expect_code(1);
    assert!(out.stdout.contains(" · disk  FAILED"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("(host host-2, step disk) expired on 2020-01-31 ("),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("the failure of disk on host-2 counts again"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_broken_waivers_file_is_a_load_error_at_its_line_and_column() {
    let hosts = Hosts::start(1);
    let waivers = hosts.write_file(
        "waivers.kdl",
        "// accepted failures\nwaiver host=\"host-1\" step=\"disk\" reason=\"r\" expires=\"31.12.2026\"\n",
    );
    let out = disks_run(
        &hosts,
        &["--waivers".to_string(), waivers.display().to_string()],
    );
    out.expect_code(2);
    assert!(
        out.stderr.contains("`31.12.2026` is not a date"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("waivers.kdl:2:"), "{}", out.stderr);
}
