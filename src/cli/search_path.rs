//! Where a bare workflow name is looked for, first match wins:
//!
//! 1. `./workflows` (a checkout or a site's own directory),
//! 2. each directory of `$FLEET_WORKFLOWS` (colon-separated),
//! 3. `$XDG_DATA_HOME/fleet/workflows` (default `~/.local/share/fleet/workflows`),
//! 4. `fleet/workflows` under each of `$XDG_DATA_DIRS` (default
//!    `/usr/local/share:/usr/share`): where the Debian package installs the
//!    shipped workflows, `/usr/share/fleet/workflows`.
//!
//! So an installed fleet runs `fleet run weekly` from any directory, and a
//! local `workflows/weekly.kdl` still overrides the shipped one.

use std::path::PathBuf;

/// The workflow search path, in order, from the process environment.
pub fn workflow_dirs() -> Vec<PathBuf> {
    workflow_dirs_from(|k| std::env::var_os(k).filter(|v| !v.is_empty()))
}

fn workflow_dirs_from(env: impl Fn(&str) -> Option<std::ffi::OsString>) -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from("workflows")];
    if let Some(list) = env("FLEET_WORKFLOWS") {
        dirs.extend(std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()));
    }
    let data_home = env("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    dirs.extend(data_home.map(|d| d.join("fleet/workflows")));
    let data_dirs = env("XDG_DATA_DIRS").unwrap_or_else(|| "/usr/local/share:/usr/share".into());
    dirs.extend(
        std::env::split_paths(&data_dirs)
            .filter(|p| p.is_absolute())
            .map(|d| d.join("fleet/workflows")),
    );
    let mut seen = Vec::new();
    dirs.retain(|d| {
        let new = !seen.contains(d);
        seen.push(d.clone());
        new
    });
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_path_order_and_defaults() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        let defaults = workflow_dirs_from(env(&[("HOME", "/home/op")]));
        assert_eq!(
            defaults,
            [
                "workflows",
                "/home/op/.local/share/fleet/workflows",
                "/usr/local/share/fleet/workflows",
                "/usr/share/fleet/workflows",
            ]
            .map(PathBuf::from)
        );
        let set = workflow_dirs_from(env(&[
            ("HOME", "/home/op"),
            ("FLEET_WORKFLOWS", "/srv/a:/srv/b"),
            ("XDG_DATA_HOME", "/data"),
            ("XDG_DATA_DIRS", "/opt/share:relative:/usr/share"),
        ]));
        assert_eq!(
            set,
            [
                "workflows",
                "/srv/a",
                "/srv/b",
                "/data/fleet/workflows",
                "/opt/share/fleet/workflows",
                "/usr/share/fleet/workflows",
            ]
            .map(PathBuf::from)
        );
    }
}
