//! fleet as an installed tool: shipped workflows found by bare name from
//! any directory through the search path (`src/cli/search_path.rs`), and
//! the Debian package installed into a clean Debian container.

use std::path::Path;

use crate::cli::fleet;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap_or_else(|e| panic!("{e}"));
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// Outside a checkout, `fleet check weekly` finds the weekly workflow (and
/// its `include`) where a package puts it, `$XDG_DATA_DIRS/fleet/workflows`;
/// `$FLEET_WORKFLOWS` comes first; a local `workflows/` before both.
#[test]
fn bare_workflow_names_are_found_on_the_search_path() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let share = tmp.path().join("share");
    copy_tree(&repo().join("workflows"), &share.join("fleet/workflows"));
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("cwd");
    let inventory = repo().join("inventory/example.kdl").display().to_string();
    let check = |workflow: &str| {
        fleet(&["check", workflow, "-i", &inventory])
            .in_dir(&elsewhere)
            .env("HOME", tmp.path().join("home").display().to_string())
            .env("XDG_DATA_DIRS", share.display().to_string())
    };

    let out = check("weekly").run();
    out.expect_code(0);
    assert!(
        out.stdout.contains("ok: workflow `weekly`"),
        "{}",
        out.stdout
    );

    let missing = check("weakly").run();
    missing.expect_code(2);
    assert!(
        missing.stderr.contains(&format!(
            "no file weakly.kdl in workflows, {}/home/.local/share/fleet/workflows, {}/fleet/workflows",
            tmp.path().display(),
            share.display()
        )) && missing.stderr.contains("available: daily, demo, dr-stop-services"),
        "{}",
        missing.stderr
    );

    // $FLEET_WORKFLOWS before the data dirs; ./workflows before both.
    let own = tmp.path().join("own");
    std::fs::create_dir_all(&own).expect("own dir");
    std::fs::write(
        own.join("weekly.kdl"),
        "workflow mine {\n    step one { run \"true\" }\n}\n",
    )
    .expect("write workflow");
    let out = check("weekly")
        .env("FLEET_WORKFLOWS", own.display().to_string())
        .run();
    assert!(out.stdout.contains("ok: workflow `mine`"), "{}", out.stdout);
    copy_tree(&repo().join("workflows"), &elsewhere.join("workflows"));
    let out = check("weekly")
        .env("FLEET_WORKFLOWS", own.display().to_string())
        .run();
    assert!(
        out.stdout.contains("ok: workflow `weekly`"),
        "{}",
        out.stdout
    );
}
