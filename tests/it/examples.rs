//! The scale-out examples (examples/) are valid for their engines: the
//! Kubernetes manifest against Kubernetes' schemas (`kubernetes-validate`),
//! the GitLab pipeline and the GitHub workflow against SchemaStore's
//! schemas vendored in `check-jsonschema`, offline (any HTTP access goes to
//! a dead proxy). A broken copy of each must fail, so the validators are
//! known to look. The Slurm example runs for real in `slurm.rs`.
//! Skipped visibly (`SKIPPED-CHECK`) only outside CI, where the
//! validators' venv cannot be made (scripts/validators-venv: python3, PyPI).

use std::path::Path;
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn validate(bin: &Path, tool: &str, args: &[&str], file: &Path) -> Output {
    Command::new(bin.join(tool))
        .args(args)
        .arg(file)
        // Offline: the schemas ship with the packages.
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("NO_PROXY", "")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {tool}: {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn engine_examples_validate_against_their_schemas() {
    let Some(bin) = crate::tools::validators_venv("engine examples against their schemas") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cases: [(&str, &str, &[&str], &str, &str); 3] = [
        (
            "examples/kubernetes/fleet-weekly.yaml",
            "kubernetes-validate",
            &["--strict"],
            "completions: 4",
            "completions: four",
        ),
        (
            "examples/gitlab/.gitlab-ci.yml",
            "check-jsonschema",
            &["--builtin-schema", "vendor.gitlab-ci"],
            "parallel: 4",
            "parallel: four",
        ),
        (
            "examples/github/fleet-weekly.yml",
            "check-jsonschema",
            &["--builtin-schema", "vendor.github-workflows"],
            "needs: shard",
            "needs: 4",
        ),
    ];
    for (file, tool, args, good, bad) in cases {
        let path = root().join(file);
        let out = validate(&bin, tool, args, &path);
        assert!(out.status.success(), "{file} is invalid:\n{}", text(&out));
        if tool == "kubernetes-validate" {
            // Every document was checked: the claim, the shards, the merge.
            assert_eq!(
                text(&out).matches("passed for resource").count(),
                3,
                "{}",
                text(&out)
            );
        }
        let original = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(original.contains(good), "{file} lost `{good}`");
        let broken = dir.path().join(path.file_name().unwrap_or_default());
        std::fs::write(&broken, original.replace(good, bad)).unwrap_or_else(|e| panic!("{e}"));
        let out = validate(&bin, tool, args, &broken);
        assert!(
            !out.status.success(),
            "{tool} accepted `{bad}` in {file}:\n{}",
            text(&out)
        );
    }
    for script in ["fleet-shards.sbatch", "fleet-merge.sbatch", "submit.sh"] {
        let ok = Command::new("bash")
            .arg("-n")
            .arg(root().join("examples/slurm").join(script))
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "examples/slurm/{script} is not valid bash");
    }
}
