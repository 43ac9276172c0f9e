//! `NAME|PATH` arguments: a bare name means `workflows/NAME.kdl` or
//! `inventory/NAME.kdl` under the current directory; an inventory may also
//! be `inventory/NAME.ini`, `.yml` or `.yaml` (Ansible).

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("{kind} `{arg}` not found: no file {}{}", path.display(), available_hint(available))]
pub struct NotFound {
    pub kind: &'static str,
    pub arg: String,
    pub path: PathBuf,
    pub available: Vec<String>,
}

fn available_hint(available: &[String]) -> String {
    if available.is_empty() {
        String::new()
    } else {
        format!("\n  available: {}", available.join(", "))
    }
}

/// Resolves a workflow or inventory argument to an existing file.
pub fn resolve(kind: &'static str, dir: &str, arg: &str) -> Result<PathBuf, NotFound> {
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
    let path = if has_extension || arg.contains(std::path::MAIN_SEPARATOR) {
        as_path.to_path_buf()
    } else {
        let mut candidates = extensions
            .iter()
            .map(|e| Path::new(dir).join(format!("{arg}.{e}")));
        match candidates.find(|p| p.is_file()) {
            Some(found) => found,
            None => Path::new(dir).join(format!("{arg}.kdl")),
        }
    };
    if path.is_file() {
        return Ok(path);
    }
    Err(NotFound {
        kind,
        arg: arg.to_string(),
        available: names_in(Path::new(dir)),
        path,
    })
}

fn names_in(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            (p.extension()? == "kdl").then(|| p.file_stem()?.to_str().map(str::to_string))?
        })
        .collect();
    names.sort();
    names
}
