//! Keeps `docs/workflow-language.md` honest: every fenced example in it is
//! loaded, planned, parsed or evaluated here, so a change to the language
//! that makes an example wrong fails this test with the example's line.
//!
//! Conventions (an HTML comment on the last non-blank line before a fence
//! is the block's *marker*; rendered Markdown does not show it):
//!
//! | block | marker | checked |
//! |---|---|---|
//! | ```` ```kdl ```` | none | a whole workflow: must load (`parse_workflow`) and plan (`plan::plan`) against the doc's inventory |
//! | ```` ```kdl ```` | `<!-- fragment -->` | workflow body nodes: wrapped in `workflow doc { … }`, then as above |
//! | ```` ```kdl ```` | `<!-- file: PATH -->` | an included file: written to PATH (relative to the examples' directory), then `workflow doc { include "PATH" }` must load and plan |
//! | ```` ```kdl ```` | `<!-- inventory -->` | an inventory: must load; the first one is the inventory every workflow is planned against |
//! | ```` ```kdl ```` | `<!-- invalid: MESSAGE -->` | must fail to load or plan, with an error whose message contains MESSAGE |
//! | ```` ```text ```` | `<!-- parse PARSER … -->` (a `parse` node as written in a step) | the text is parsed with that parser; the next fenced block must be ```` ```json ```` and equal the result |
//! | ```` ```text ```` | `<!-- true-expressions -->` | each non-blank line is an expression that must be true, with the clock at 2026-11-01T00:00:00Z |
//!
//! Any other marker on a `kdl` or `text` block is an error (a typo would
//! otherwise silently skip a check); other blocks are not checked.

use std::path::Path;

use crate::extract::extract;
use crate::load::{LoadErrors, parse_inventory, parse_workflow};
use crate::model::{Inventory, SourceFile};

const DOC: &str = include_str!("../../docs/workflow-language.md");
const DOC_PATH: &str = "docs/workflow-language.md";
/// 2026-11-01T00:00:00Z, the clock of `true-expressions` blocks.
const NOW: i64 = 1_793_491_200;

/// One fenced block of the doc.
#[derive(Debug)]
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    lang: String,
    /// The text between the fences, with a final newline.
    text: String,
    /// The HTML comment just before the fence, without `<!--`/`-->`.
    marker: Option<String>,
}

fn blocks(doc: &str) -> Vec<Block> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(lang) = lines[i].trim_start().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let marker = lines[..i]
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .and_then(|l| {
                l.trim()
                    .strip_prefix("<!--")
                    .and_then(|m| m.strip_suffix("-->"))
            })
            .map(|m| m.trim().to_owned());
        let start = i;
        let mut text = String::new();
        i += 1;
        while i < lines.len() && !lines[i].trim_start().starts_with("```") {
            text.push_str(lines[i]);
            text.push('\n');
            i += 1;
        }
        out.push(Block {
            line: start + 1,
            lang: lang.trim().to_owned(),
            text,
            marker,
        });
        i += 1;
    }
    out
}

/// Collects what is wrong with the doc, each prefixed by its line.
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, block: &Block, what: impl AsRef<str>) {
        self.0
            .push(format!("{DOC_PATH}:{}: {}", block.line, what.as_ref()));
    }
}

/// Every message of `errors`, each with the doc line it points at when it
/// points into the example (`first_line` is the doc line of the example's
/// first line; `shift` lines were added before it by wrapping).
fn describe(errors: &LoadErrors, block: &Block, shift: usize) -> String {
    errors
        .iter()
        .map(|e| {
            let line = e.span().and_then(|span| {
                let text = std::fs::read_to_string(e.path()).ok()?;
                let in_file = text.get(..span.offset())?.matches('\n').count();
                let in_block = in_file.checked_sub(shift)?;
                Some(block.line + 1 + in_block)
            });
            match line {
                Some(line) => format!("{} (doc line {line})", e.message()),
                None => format!("{} ({})", e.message(), e.location()),
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Loads and plans `text` as a workflow file at `path`; the error messages
/// when either fails.
fn load_and_plan(
    path: &Path,
    text: &str,
    inventory: &Inventory,
    block: &Block,
    shift: usize,
) -> Result<(), String> {
    // Written to disk too, so errors can be mapped back to doc lines.
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let workflow = parse_workflow(SourceFile::new(path, text))
        .map_err(|errors| format!("does not load: {}", describe(&errors, block, shift)))?;
    match crate::plan::plan(workflow, inventory, &[], &[]) {
        Ok(_) => Ok(()),
        Err(crate::plan::PlanError::Templates(errors)) => Err(format!(
            "does not plan: {}",
            describe(&errors, block, shift)
        )),
        Err(e) => Err(format!("does not plan: {e}")),
    }
}

fn first_code_line(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("//"))
        .unwrap_or("")
}

fn check_kdl(
    block: &Block,
    index: usize,
    dir: &Path,
    inventory: &Inventory,
    problems: &mut Problems,
) {
    let path = dir.join(format!("example-{index}-line-{}.kdl", block.line));
    let marker = block.marker.as_deref();
    let result = match marker {
        None => {
            if !first_code_line(&block.text).starts_with("workflow") {
                problems.add(
                    block,
                    "a kdl block that is not a whole workflow needs a marker: \
                     <!-- fragment -->, <!-- file: PATH -->, <!-- inventory --> or <!-- invalid: MESSAGE -->",
                );
                return;
            }
            load_and_plan(&path, &block.text, inventory, block, 0)
        }
        Some("fragment") => {
            let text = format!("workflow doc {{\n{}}}\n", block.text);
            load_and_plan(&path, &text, inventory, block, 1)
        }
        Some("inventory") => {
            parse_inventory(SourceFile::new("inventory/doc.kdl", block.text.as_str()))
                .map(|_| ())
                .map_err(|errors| {
                    format!("inventory does not load: {}", describe(&errors, block, 0))
                })
        }
        Some(m) if m.starts_with("file:") => {
            // Already written by `write_files`; load it through an include.
            let rel = m["file:".len()..].trim();
            let text = format!("workflow doc {{\n    include \"{rel}\"\n}}\n");
            load_and_plan(&path, &text, inventory, block, 0)
                .map_err(|e| format!("included file {rel}: {e}"))
        }
        Some(m) if m == "invalid" || m.starts_with("invalid:") => {
            let expected = m
                .strip_prefix("invalid")
                .unwrap_or("")
                .trim_start_matches(':')
                .trim();
            match load_and_plan(&path, &block.text, inventory, block, 0) {
                Ok(()) => Err("is marked invalid but loads and plans".to_owned()),
                Err(why) if !why.contains(expected) => Err(format!(
                    "is marked invalid with `{expected}`, but the errors are: {why}"
                )),
                Err(_) => Ok(()),
            }
        }
        Some(other) => Err(format!("unknown marker `<!-- {other} -->` on a kdl block")),
    };
    if let Err(why) = result {
        problems.add(block, why);
    }
}

/// Writes every `<!-- file: PATH -->` block under `dir`, so that examples
/// including it find it.
fn write_files(blocks: &[Block], dir: &Path, problems: &mut Problems) {
    for block in blocks.iter().filter(|b| b.lang == "kdl") {
        let Some(rel) = block
            .marker
            .as_deref()
            .and_then(|m| m.strip_prefix("file:"))
        else {
            continue;
        };
        let path = dir.join(rel.trim());
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, &block.text));
        if let Err(e) = written {
            problems.add(block, format!("cannot write {}: {e}", path.display()));
        }
    }
}

/// The inventory the workflows are planned against: the first
/// `<!-- inventory -->` block.
fn doc_inventory(blocks: &[Block]) -> Result<Inventory, String> {
    let block = blocks
        .iter()
        .find(|b| b.lang == "kdl" && b.marker.as_deref() == Some("inventory"))
        .ok_or("the doc has no <!-- inventory --> block to plan the examples against")?;
    parse_inventory(SourceFile::new("inventory/prod.kdl", block.text.as_str())).map_err(|errors| {
        format!(
            "{DOC_PATH}:{}: the inventory does not load: {}",
            block.line,
            describe(&errors, block, 0)
        )
    })
}

/// `<!-- parse … -->` on a text block: the parser is decoded by the real
/// step decoder, run on the text, and compared with the next block.
fn check_parse(marker: &str, block: &Block, next: Option<&Block>) -> Result<(), String> {
    let step = format!(
        "workflow doc {{\n    step doc {{\n        run \"true\"\n        {marker}\n    }}\n}}\n"
    );
    let workflow = parse_workflow(SourceFile::new("parse-marker.kdl", step)).map_err(|errors| {
        let messages: Vec<&str> = errors.iter().map(|e| e.message()).collect();
        format!(
            "the marker `{marker}` is not a valid parse node: {}",
            messages.join("; ")
        )
    })?;
    let extractor = workflow
        .steps
        .first()
        .and_then(|s| s.parse.as_ref())
        .ok_or("the marker decoded to no parser")?;
    let actual = extract(&extractor.value, &block.text)
        .map_err(|e| format!("`{marker}` cannot parse this output: {e}"))?;
    let Some(next) = next.filter(|n| n.lang == "json") else {
        return Err(format!(
            "a `{marker}` example must be followed by a ```json block with the result"
        ));
    };
    let expected: serde_json::Value = serde_json::from_str(&next.text)
        .map_err(|e| format!("the ```json block at line {} is not JSON: {e}", next.line))?;
    if actual != expected {
        let shown = serde_json::to_string_pretty(&actual).unwrap_or_default();
        return Err(format!(
            "`{marker}` produces something else than the ```json block at line {}; it produces:\n{shown}",
            next.line
        ));
    }
    Ok(())
}

/// `<!-- true-expressions -->`: every line must evaluate to true.
fn check_true_expressions(block: &Block) -> Result<(), String> {
    let at = time::OffsetDateTime::from_unix_timestamp(NOW).map_err(|e| e.to_string())?;
    let env = crate::expr::environment(crate::expr::Clock::Fixed(at));
    let mut wrong = Vec::new();
    for (i, line) in block.text.lines().enumerate() {
        let source = line.trim();
        if source.is_empty() {
            continue;
        }
        let doc_line = block.line + 1 + i;
        let outcome = env
            .compile_expression(source)
            .and_then(|e| e.eval(minijinja::context! {}));
        match outcome {
            Ok(v) if v.is_true() => {}
            Ok(v) => wrong.push(format!("line {doc_line}: `{source}` is {v}, not true")),
            Err(e) => wrong.push(format!("line {doc_line}: `{source}` fails: {e}")),
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("\n"))
    }
}

#[test]
fn every_example_in_the_workflow_language_doc_holds() {
    let blocks = blocks(DOC);
    let mut problems = Problems(Vec::new());
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let inventory = doc_inventory(&blocks).unwrap_or_else(|e| panic!("{e}"));
    write_files(&blocks, dir.path(), &mut problems);

    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for (index, block) in blocks.iter().enumerate() {
        let marker = block.marker.as_deref();
        let kind = match (block.lang.as_str(), marker) {
            ("kdl", _) => {
                check_kdl(block, index, dir.path(), &inventory, &mut problems);
                "kdl"
            }
            ("text", Some(m)) if m == "parse" || m.starts_with("parse ") => {
                if let Err(why) = check_parse(m, block, blocks.get(index + 1)) {
                    problems.add(block, why);
                }
                "parser"
            }
            ("text", Some("true-expressions")) => {
                if let Err(why) = check_true_expressions(block) {
                    problems.add(block, why);
                }
                "expressions"
            }
            ("text", Some(other)) => {
                problems.add(
                    block,
                    format!("unknown marker `<!-- {other} -->` on a text block"),
                );
                "unknown"
            }
            _ => "unchecked",
        };
        *counts.entry(kind).or_default() += 1;
    }
    assert!(
        problems.0.is_empty(),
        "{} problem(s) in {DOC_PATH}:\n\n{}\n",
        problems.0.len(),
        problems.0.join("\n\n")
    );
    // Guard against the extraction silently finding nothing.
    assert!(counts.get("kdl").copied().unwrap_or(0) >= 30, "{counts:?}");
    assert!(
        counts.get("parser").copied().unwrap_or(0) >= 10,
        "{counts:?}"
    );
    assert!(
        counts.get("expressions").copied().unwrap_or(0) >= 1,
        "{counts:?}"
    );
}

#[test]
fn markers_are_read_from_the_line_before_the_fence() {
    let doc = "text\n\n<!-- invalid: boom -->\n\n```kdl\nworkflow w {}\n```\n\n```json\n[]\n```\n";
    let found = blocks(doc);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].line, 5);
    assert_eq!(found[0].lang, "kdl");
    assert_eq!(found[0].marker.as_deref(), Some("invalid: boom"));
    assert_eq!(found[0].text, "workflow w {}\n");
    assert_eq!(found[1].marker, None);
}
