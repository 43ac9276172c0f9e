//! Host selection: the `--limit` patterns and a workflow's `hosts` line.
//!
//! A pattern list is comma-separated (and `--limit` may repeat). Each item
//! is a host name, a glob over host names (`ps-prod-*`), `group:NAME`, or
//! any of these prefixed with `!` to exclude. Hosts matching any include
//! (all hosts when there is none) and no exclude are selected.
//!
//! An include that matches nothing (unknown name or group, empty group) is
//! a warning naming it when other includes select hosts: a shipped
//! workflow's `hosts "group:bosh,group:certs"` must run on a site that has
//! only BOSH jumpboxes. When no include matches anything it is an error,
//! and an exclude that matches nothing is always an error: a typo there
//! would run on exactly the hosts the operator meant to spare.

use globset::{Glob, GlobMatcher};

use crate::model::{Host, Inventory};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LimitError {
    #[error("host pattern `{pattern}` is not a valid glob: {reason}")]
    BadGlob { pattern: String, reason: String },
    #[error("host pattern `{pattern}` matches no host in inventory `{inventory}`")]
    NoMatch { pattern: String, inventory: String },
    #[error("group `{group}` does not exist in inventory `{inventory}`")]
    UnknownGroup { group: String, inventory: String },
    #[error("empty host pattern in `{list}`")]
    Empty { list: String },
    #[error("no host pattern of `{patterns}` matches a host in inventory `{inventory}`")]
    NoneMatch { patterns: String, inventory: String },
}

/// The hosts a limit selects, and the parts of it that selected nothing.
#[derive(Debug, Default)]
pub struct Selection<'a> {
    /// In inventory order.
    pub hosts: Vec<&'a Host>,
    /// One line per include that matched no host, naming it and why.
    pub warnings: Vec<String>,
}

#[derive(Debug)]
enum Selector {
    Name(String),
    Glob(String, GlobMatcher),
    Group(String),
}

impl Selector {
    fn matches(&self, host: &Host) -> bool {
        match self {
            Selector::Name(n) => &host.name == n,
            Selector::Glob(_, g) => g.is_match(&host.name),
            Selector::Group(g) => host.groups.iter().any(|hg| hg == g),
        }
    }

    fn text(&self) -> String {
        match self {
            Selector::Name(n) => n.clone(),
            Selector::Glob(p, _) => p.clone(),
            Selector::Group(g) => format!("group:{g}"),
        }
    }
}

/// A parsed pattern list.
#[derive(Debug, Default)]
pub struct Limit {
    include: Vec<Selector>,
    exclude: Vec<Selector>,
}

impl Limit {
    /// Parses every pattern list given (each may hold comma-separated items).
    pub fn parse<S: AsRef<str>>(lists: &[S]) -> Result<Limit, LimitError> {
        let mut limit = Limit::default();
        for list in lists {
            let list = list.as_ref();
            for item in list.split(',').map(str::trim) {
                let (negated, item) = match item.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, item),
                };
                if item.is_empty() {
                    return Err(LimitError::Empty {
                        list: list.to_string(),
                    });
                }
                let selector = if let Some(group) = item.strip_prefix("group:") {
                    Selector::Group(group.to_string())
                } else if item.contains(['*', '?', '[', '{']) {
                    let glob = Glob::new(item).map_err(|e| LimitError::BadGlob {
                        pattern: item.to_string(),
                        reason: e.kind().to_string(),
                    })?;
                    Selector::Glob(item.to_string(), glob.compile_matcher())
                } else {
                    Selector::Name(item.to_string())
                };
                if negated {
                    limit.exclude.push(selector);
                } else {
                    limit.include.push(selector);
                }
            }
        }
        Ok(limit)
    }

    /// Hosts of `inventory` selected by this limit, in inventory order,
    /// with a warning for each include that matched nothing (see the
    /// module comment for when that is an error instead).
    pub fn select<'a>(&self, inventory: &'a Inventory) -> Result<Selection<'a>, LimitError> {
        for selector in &self.exclude {
            if let Some(miss) = miss(selector, inventory) {
                return Err(miss);
            }
        }
        let misses: Vec<LimitError> = self
            .include
            .iter()
            .filter_map(|s| miss(s, inventory))
            .collect();
        if !self.include.is_empty() && misses.len() == self.include.len() {
            let mut misses = misses;
            return Err(match misses.len() {
                1 => misses.remove(0),
                _ => LimitError::NoneMatch {
                    patterns: self
                        .include
                        .iter()
                        .map(Selector::text)
                        .collect::<Vec<_>>()
                        .join(","),
                    inventory: inventory.name.clone(),
                },
            });
        }
        let hosts = inventory
            .hosts
            .iter()
            .filter(|h| self.include.is_empty() || self.include.iter().any(|s| s.matches(h)))
            .filter(|h| !self.exclude.iter().any(|s| s.matches(h)))
            .collect();
        Ok(Selection {
            hosts,
            warnings: misses.iter().map(ToString::to_string).collect(),
        })
    }
}

/// Why `selector` selects no host of `inventory`, if it selects none.
fn miss(selector: &Selector, inventory: &Inventory) -> Option<LimitError> {
    if let Selector::Group(g) = selector
        && !inventory.groups.iter().any(|gi| &gi.name == g)
    {
        return Some(LimitError::UnknownGroup {
            group: g.clone(),
            inventory: inventory.name.clone(),
        });
    }
    if !inventory.hosts.iter().any(|h| selector.matches(h)) {
        return Some(LimitError::NoMatch {
            pattern: selector.text(),
            inventory: inventory.name.clone(),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse_inventory;
    use crate::model::SourceFile;

    fn inventory() -> Inventory {
        let text = r#"
group prod {
    host ps-prod-1
    host ps-prod-2
    group prod-db { host ps-db-1 }
}
group dr { host ps-dr-1; host ps-prod-2 }
host bastion
"#;
        parse_inventory(SourceFile::new("inventory/t.kdl", text))
            .unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn names(patterns: &[&str]) -> Result<Vec<String>, LimitError> {
        let inv = inventory();
        let selection = Limit::parse(patterns)?.select(&inv)?;
        Ok(selection
            .hosts
            .into_iter()
            .map(|h| h.name.clone())
            .collect())
    }

    #[test]
    fn no_pattern_selects_everything_in_order() {
        assert_eq!(
            names(&[]),
            Ok(vec![
                "ps-prod-1".into(),
                "ps-prod-2".into(),
                "ps-db-1".into(),
                "ps-dr-1".into(),
                "bastion".into()
            ])
        );
    }

    #[test]
    fn names_globs_groups_and_exclusions() {
        assert_eq!(names(&["bastion"]), Ok(vec!["bastion".into()]));
        assert_eq!(
            names(&["ps-prod-*"]),
            Ok(vec!["ps-prod-1".into(), "ps-prod-2".into()])
        );
        // Child groups belong to their parent.
        assert_eq!(
            names(&["group:prod,!ps-prod-1"]),
            Ok(vec!["ps-prod-2".into(), "ps-db-1".into()])
        );
        // Exclusion alone means "everything but".
        assert_eq!(
            names(&["!group:prod"]),
            Ok(vec!["ps-dr-1".into(), "bastion".into()])
        );
        // Repeated --limit flags are one union.
        assert_eq!(
            names(&["ps-db-1", "group:dr"]),
            Ok(vec!["ps-prod-2".into(), "ps-db-1".into(), "ps-dr-1".into()])
        );
    }

    #[test]
    fn typos_are_errors_not_empty_runs() {
        assert_eq!(
            names(&["ps-prod-9"]),
            Err(LimitError::NoMatch {
                pattern: "ps-prod-9".into(),
                inventory: "t".into()
            })
        );
        assert_eq!(
            names(&["group:prd"]),
            Err(LimitError::UnknownGroup {
                group: "prd".into(),
                inventory: "t".into()
            })
        );
        assert_eq!(
            names(&["web-*"]).map_err(|e| e.to_string()),
            Err("host pattern `web-*` matches no host in inventory `t`".into())
        );
        assert!(matches!(names(&["a,,b"]), Err(LimitError::Empty { .. })));
        // Every part of a union missing is still an error.
        assert_eq!(
            names(&["group:prd,web-*"]).map_err(|e| e.to_string()),
            Err("no host pattern of `group:prd,web-*` matches a host in inventory `t`".into())
        );
        // An exclude that matches nothing would spare nobody: an error.
        assert!(matches!(
            names(&["group:prod,!group:prdo"]),
            Err(LimitError::UnknownGroup { .. })
        ));
        assert!(matches!(names(&["ps-[a"]), Err(LimitError::BadGlob { .. })));
    }

    #[test]
    fn a_union_part_that_matches_nothing_is_a_warning_naming_it() {
        let text = "group bosh { host jb-1; host jb-2 }\ngroup certs\nhost other\n";
        let inv = parse_inventory(SourceFile::new("inventory/site.kdl", text))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let select = |patterns: &[&str]| {
            Limit::parse(patterns)
                .and_then(|l| {
                    l.select(&inv).map(|s| {
                        let names: Vec<String> = s.hosts.iter().map(|h| h.name.clone()).collect();
                        (names, s.warnings)
                    })
                })
                .unwrap_or_else(|e| panic!("{e}"))
        };
        // An empty group, an unknown group and an unknown name.
        let (hosts, warnings) = select(&["group:bosh,group:certs,group:dns,jb-9"]);
        assert_eq!(hosts, ["jb-1", "jb-2"]);
        assert_eq!(
            warnings,
            [
                "host pattern `group:certs` matches no host in inventory `site`",
                "group `dns` does not exist in inventory `site`",
                "host pattern `jb-9` matches no host in inventory `site`",
            ]
        );
        // Repeated --limit flags are one union too.
        let (hosts, warnings) = select(&["jb-1", "group:certs"]);
        assert_eq!((hosts.len(), warnings.len()), (1, 1));
        let (_, warnings) = select(&["group:bosh"]);
        assert!(warnings.is_empty());
    }
}
