//! `NAME|PATH` arguments: a bare name means `NAME.kdl` in a directory: for
//! a workflow the first of the search path ([`super::search_path`]) that
//! has it, for an inventory `inventory/` under the current directory (which
//! may also hold `NAME.ini`, `.yml` or `.yaml`, Ansible inventories).

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error(
    "{kind} `{arg}` not found: no file {tried}{}",
    available_hint(available)
)]
pub struct NotFound {
    pub kind: &'static str,
    pub arg: String,
    /// The file looked for, or `NAME.kdl in DIR, DIR…` for a search path.
    pub tried: String,
    pub available: Vec<String>,
}

fn available_hint(available: &[String]) -> String {
    if available.is_empty() {
        String::new()
    } else {
        format!("\n  available: {}", available.join(", "))
    }
}

/// Resolves a workflow or inventory argument to an existing file, looking
/// for a bare name in `dir`.
pub fn resolve(kind: &'static str, dir: &str, arg: &str) -> Result<PathBuf, NotFound> {
    resolve_in(kind, &[PathBuf::from(dir)], arg)
}

/// [`resolve`] over several directories, first match wins.
pub fn resolve_in(kind: &'static str, dirs: &[PathBuf], arg: &str) -> Result<PathBuf, NotFound> {
    let as_path = Path::new(arg);
    // Inventories may also be Ansible files (INI or YAML).
    let extensions: &[&str] = if kind == "inventory" {
        &["kdl", "ini", "yml", "yaml"]
    } else {
        &["kdl"]
    };
    let has_extension = as_path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.contains(&e));
    let not_found = |tried: String| NotFound {
        kind,
        arg: arg.to_string(),
        tried,
        available: names_in(dirs),
    };
    if has_extension || arg.contains(std::path::MAIN_SEPARATOR) {
        return match as_path.is_file() {
            true => Ok(as_path.to_path_buf()),
            false => Err(not_found(as_path.display().to_string())),
        };
    }
    let found = dirs.iter().find_map(|dir| {
        extensions
            .iter()
            .map(|e| dir.join(format!("{arg}.{e}")))
            .find(|p| p.is_file())
    });
    found.ok_or_else(|| {
        not_found(match dirs {
            [dir] => dir.join(format!("{arg}.kdl")).display().to_string(),
            _ => format!(
                "{arg}.kdl in {}",
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    })
}

/// The `.kdl` names in `dirs`, sorted, each once.
fn names_in(dirs: &[PathBuf]) -> Vec<String> {
    let mut names: Vec<String> = dirs
        .iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flat_map(|entries| entries.flatten())
        .filter_map(|e| {
            let p = e.path();
            (p.extension()? == "kdl").then(|| p.file_stem()?.to_str().map(str::to_string))?
        })
        .collect();
    names.sort();
    names.dedup();
    names
}
