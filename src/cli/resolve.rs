//! `NAME|PATH` arguments: a bare name means `workflows/NAME.kdl` or
//! `inventory/NAME.kdl` under the current directory.

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
    let path = if arg.ends_with(".kdl") || arg.contains(std::path::MAIN_SEPARATOR) {
        as_path.to_path_buf()
    } else {
        Path::new(dir).join(format!("{arg}.kdl"))
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
