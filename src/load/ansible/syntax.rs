//! The two Ansible inventory syntaxes, INI and YAML, read into the
//! [`Builder`](super::Builder) that both share.

use std::collections::BTreeMap;

use serde_json::Value;

use super::range::{RANGE_HELP, expand_range};
use super::{Builder, ini_value};
use crate::load::decode::Decoder;
use crate::model::{SourceFile, Span, Vars};

pub(super) fn ini(d: &mut Decoder, b: &mut Builder, source: &SourceFile) {
    let mut section = ("ungrouped".to_string(), "hosts");
    let mut offset = 0;
    for raw in source.text.split_inclusive('\n') {
        let line_offset = offset;
        offset += raw.len();
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let span = b.span(
            line_offset + (raw.len() - raw.trim_start().len()),
            line.len(),
        );
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = match header.split_once(':') {
                Some((g, "vars")) => (g.to_string(), "vars"),
                Some((g, "children")) => (g.to_string(), "children"),
                Some((_, other)) => {
                    d.error(
                        &span,
                        format!("unknown section kind `:{other}`"),
                        "unknown section",
                        Some(
                            "Ansible sections are [group], [group:vars] and [group:children]"
                                .into(),
                        ),
                    );
                    (header.to_string(), "skip")
                }
                None => (header.to_string(), "hosts"),
            };
            b.group(&section.0, span);
            continue;
        }
        match section.1 {
            "vars" => match line.split_once('=') {
                Some((k, v)) => {
                    let vars = Vars::from([(k.trim().to_string(), ini_value(v))]);
                    b.group_vars(&section.0.clone(), span, vars);
                }
                None => d.error(&span, "expected `name=value`", "not a variable", None),
            },
            "children" => b.child(&section.0.clone(), line, span),
            "hosts" => {
                let mut parts = line.split_whitespace();
                let Some(name) = parts.next() else { continue };
                let mut vars = Vars::new();
                for part in parts {
                    match part.split_once('=') {
                        Some((k, v)) => {
                            vars.insert(k.to_string(), ini_value(v));
                        }
                        None => d.error(
                            &span,
                            format!("expected `name=value` after host `{name}`, got `{part}`"),
                            "not a variable",
                            None,
                        ),
                    }
                }
                match expand_range(name, &mut b.range_budget) {
                    Ok(hosts) => {
                        for host in hosts {
                            b.host(&host, &section.0.clone(), span.clone(), vars.clone());
                        }
                    }
                    Err(e) => d.error(&span, e, "bad host range", Some(RANGE_HELP.into())),
                }
            }
            _ => {}
        }
    }
}

pub(super) fn yaml(d: &mut Decoder, b: &mut Builder, source: &SourceFile) {
    let doc: serde_norway::Value = match serde_norway::from_str(&source.text) {
        Ok(v) => v,
        Err(e) => {
            let offset = e.location().map_or(0, |l| l.index());
            let span = b.span(offset, 1);
            d.error(&span, format!("invalid YAML: {e}"), "here", None);
            return;
        }
    };
    let Some(top) = doc.as_mapping() else {
        if !doc.is_null() {
            let span = b.span(0, 0);
            d.error(
                &span,
                "an Ansible YAML inventory is a mapping of groups",
                "not a mapping",
                None,
            );
        }
        return;
    };
    for (name, body) in top {
        if let Some(name) = name.as_str() {
            yaml_group(d, b, source, name, body);
        }
    }
}

fn yaml_span(b: &Builder, source: &SourceFile, name: &str) -> Span {
    let offset = source.text.find(&format!("{name}:")).unwrap_or(0);
    b.span(offset, name.len())
}

fn yaml_vars(d: &mut Decoder, span: &Span, v: Option<&serde_norway::Value>) -> Vars {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Vars::new();
    };
    match serde_json::to_value(v) {
        Ok(Value::Object(map)) => map.into_iter().collect::<BTreeMap<_, _>>(),
        _ => {
            d.error(
                span,
                "vars must be a mapping of name: value",
                "not a mapping",
                None,
            );
            Vars::new()
        }
    }
}

fn yaml_group(
    d: &mut Decoder,
    b: &mut Builder,
    source: &SourceFile,
    group: &str,
    body: &serde_norway::Value,
) {
    let span = yaml_span(b, source, group);
    b.group(group, span.clone());
    let vars = yaml_vars(d, &span, body.get("vars"));
    b.group_vars(group, span.clone(), vars);
    if let Some(hosts) = body.get("hosts").and_then(|h| h.as_mapping()) {
        for (name, hvars) in hosts {
            let Some(name) = name.as_str() else { continue };
            let hspan = yaml_span(b, source, name);
            let vars = yaml_vars(d, &hspan, Some(hvars));
            match expand_range(name, &mut b.range_budget) {
                Ok(hosts) => {
                    for host in hosts {
                        b.host(&host, group, hspan.clone(), vars.clone());
                    }
                }
                Err(e) => d.error(&hspan, e, "bad host range", Some(RANGE_HELP.into())),
            }
        }
    }
    if let Some(children) = body.get("children").and_then(|c| c.as_mapping()) {
        for (child, cbody) in children {
            let Some(child) = child.as_str() else {
                continue;
            };
            b.child(group, child, yaml_span(b, source, child));
            yaml_group(d, b, source, child, cbody);
        }
    }
}
