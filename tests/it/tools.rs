//! Checks that need a tool fleet does not ship (Chromium, xmllint,
//! promtool, prove, man, Docker, root): one place decides what happens
//! when it is missing. Outside CI the check is skipped *visibly*: a line
//! `SKIPPED-CHECK: <check>: <why>` on stderr and in
//! `target/tmp/skipped-checks.txt`, which `.ci/run` prints. On CI (`CI`
//! set) a missing tool fails the test: `.ci/run` installs every one of
//! them, so a skip there would be a check silently not done.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Where skipped checks are listed across the whole test run.
pub fn skipped_checks_file() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("skipped-checks.txt")
}

/// Records that `check` did not run because of `why`; fails the test on CI.
pub fn skip_check(check: &str, why: &str) {
    let line = format!("SKIPPED-CHECK: {check}: {why}");
    assert!(
        std::env::var_os("CI").is_none(),
        "{line} (on CI every checker must be installed: .ci/run installs them)"
    );
    eprintln!("{line}");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(skipped_checks_file())
    {
        let _ = writeln!(f, "{line}");
    }
}

/// `Some(path)` when `name` is on `PATH`; else the check is skipped (see
/// [`skip_check`]) naming the Debian package that provides it.
pub fn tool(name: &str, check: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        skip_check(
            check,
            &format!("`{name}` is not installed (apt-get install {package})"),
        );
    }
    found
}

/// The bin directory of `scripts/validators-venv` (kubernetes-validate,
/// check-jsonschema, prometheus-client; made once from PyPI); else
/// `check` is skipped (see [`skip_check`]).
pub fn validators_venv(check: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(root.join("scripts/validators-venv"))
        .current_dir(root)
        .output();
    match out {
        Ok(out) if out.status.success() => Some(PathBuf::from(
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        )),
        other => {
            skip_check(
                check,
                &format!("scripts/validators-venv failed (python3 venv, PyPI): {other:?}"),
            );
            None
        }
    }
}
