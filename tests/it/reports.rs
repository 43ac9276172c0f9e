//! Report files from a real run, checked by the tools that read them: the
//! JUnit XML against the schema CI systems follow (`xmllint`), the HTML in
//! headless Chromium (DOM and a screenshot).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cli::fleet;
use crate::harness::Hosts;
use crate::tools::tool;

/// Validates a JUnit file against the Jenkins/Ant schema CI systems follow
/// (`tests/fixtures/junit.xsd`) with `xmllint`; returns its text.
pub(crate) fn assert_junit_valid(xmllint: &Path, junit: &Path) -> String {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/junit.xsd");
    let out = Command::new(xmllint)
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(junit)
        .output()
        .expect("run xmllint");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(junit).expect("junit written")
}

/// Runs a 3-host workflow where host-2's disk check fails, writing JUnit
/// and HTML into the fleet's directory.
fn failing_run(hosts: &Hosts) -> (PathBuf, PathBuf) {
    let dir = hosts.dir().display().to_string();
    let wf = hosts.write_file(
        "disks.kdl",
        &format!(
            r##"
workflow disks {{
    timeout "20s"
    step disk {{
        run "cat {dir}/disk-{{{{ host.name }}}} 2>/dev/null || echo 40"
        expect "stdout | trim | int < 80" message="disk on {{{{ host.name }}}} is {{{{ stdout | trim }}}}% full"
    }}
    step uptime {{
        run "uptime"
        expect exit=0
    }}
}}
"##
        ),
    );
    hosts.write_file("disk-host-2", "93\n");
    let inv = hosts.write_inventory("hosts");
    let junit = hosts.dir().join("out.xml");
    let html = hosts.dir().join("out.html");
    fleet(&[
        "run".to_string(),
        wf.display().to_string(),
        "--inventory".into(),
        inv.display().to_string(),
        "--report".into(),
        format!("junit={}", junit.display()),
        "--report".into(),
        format!("html={}", html.display()),
    ])
    .run()
    .expect_code(1);
    (junit, html)
}

#[test]
fn junit_validates_against_the_schema() {
    let Some(xmllint) = tool("xmllint", "JUnit XML against its schema", "libxml2-utils") else {
        return;
    };
    let hosts = Hosts::start(3);
    let (junit, _) = failing_run(&hosts);
    let xml = assert_junit_valid(&xmllint, &junit);
    assert!(
        xml.contains(r#"<testsuite name="host-2" tests="2" skipped="0" errors="0" failures="1""#),
        "{xml}"
    );
    assert!(xml.contains("disk on host-2 is 93% full"), "{xml}");
}

#[test]
fn html_report_renders_in_chromium_with_the_failing_host() {
    let Some(chromium) = tool("chromium", "HTML report in Chromium", "chromium") else {
        return;
    };
    let hosts = Hosts::start(3);
    let (_, html) = failing_run(&hosts);
    let url = format!("file://{}", html.display());
    let chrome = |extra: &[&str]| {
        let profile = hosts.dir().join(format!("chrome-{}", extra.len()));
        Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(extra)
            .arg(&url)
            .output()
            .expect("run chromium")
    };
    let dom = chrome(&["--dump-dom"]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(dom.contains("host-2"), "{dom}");
    assert!(dom.contains("disk on host-2 is 93% full"), "{dom}");
    assert!(!dom.contains("<script"), "readable without JavaScript");

    // Kept where a person can look at it after the test.
    let png = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-screenshot.png");
    let _ = std::fs::remove_file(&png);
    let shot = chrome(&[
        &format!("--screenshot={}", png.display()),
        "--window-size=1400,1000",
    ]);
    let bytes = std::fs::read(&png).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}): {}",
            String::from_utf8_lossy(&shot.stderr)
        )
    });
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG image");
    assert!(bytes.len() > 10_000, "more than a blank page");
}
