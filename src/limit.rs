//! Host selection: the `--limit` patterns and a workflow's `hosts` line.
//!
//! A pattern list is comma-separated (and `--limit` may repeat). Each item
//! is a host name, a glob over host names (`ps-prod-*`), `group:NAME`, or
//! any of these prefixed with `!` to exclude. Hosts matching any include
//! (all hosts when there is none) and no exclude are selected. A name or
//! group that matches nothing is an error, so a typo never silently
//! shrinks the run.

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

    /// Hosts of `inventory` selected by this limit, in inventory order.
    pub fn select<'a>(&self, inventory: &'a Inventory) -> Result<Vec<&'a Host>, LimitError> {
        for selector in self.include.iter().chain(&self.exclude) {
            if let Selector::Group(g) = selector
                && !inventory.groups.iter().any(|gi| &gi.name == g)
            {
                return Err(LimitError::UnknownGroup {
                    group: g.clone(),
                    inventory: inventory.name.clone(),
                });
            }
            if !inventory.hosts.iter().any(|h| selector.matches(h)) {
                return Err(LimitError::NoMatch {
                    pattern: selector.text(),
                    inventory: inventory.name.clone(),
                });
            }
        }
        Ok(inventory
            .hosts
            .iter()
            .filter(|h| self.include.is_empty() || self.include.iter().any(|s| s.matches(h)))
            .filter(|h| !self.exclude.iter().any(|s| s.matches(h)))
            .collect())
    }
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
        let hosts = Limit::parse(patterns)?.select(&inv)?;
        Ok(hosts.into_iter().map(|h| h.name.clone()).collect())
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
        assert!(matches!(names(&["ps-[a"]), Err(LimitError::BadGlob { .. })));
    }
}
