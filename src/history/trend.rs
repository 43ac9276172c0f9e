//! Exported numbers across stored runs: the series behind `fleet history
//! --trend` and the HTML report's charts. Each stored run keeps its hosts'
//! exports in a small `exports.json` beside `report.json`, so a trend over
//! 30 runs never reads hosts' output (megabytes per host); runs stored by
//! an older fleet are read from `report.json`, which holds the same.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::store::{HistoryError, RunMeta, Store};
use crate::model::report::RunReport;

/// One exported name's values across runs of one workflow/inventory pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    pub name: String,
    pub workflow: String,
    pub inventory: String,
    /// Oldest first; every host's `values` has one entry per run.
    pub runs: Vec<TrendRun>,
    pub hosts: Vec<HostSeries>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrendRun {
    pub id: String,
    /// RFC 3339, UTC.
    pub started_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostSeries {
    pub host: String,
    /// `null` where the host was not in the run, was not reached, or its
    /// value was not a number.
    pub values: Vec<Option<serde_json::Number>>,
}

impl HostSeries {
    /// The values as floats, for drawing.
    pub fn floats(&self) -> impl DoubleEndedIterator<Item = Option<f64>> + '_ {
        self.values
            .iter()
            .map(|v| v.as_ref().and_then(|n| n.as_f64()))
    }

    /// The newest value there is.
    pub fn last(&self) -> Option<f64> {
        self.floats().flatten().next_back()
    }
}

/// `exports.json`, and the slice of a `report.json` a trend needs.
#[derive(Debug, Serialize, Deserialize)]
struct StoredExports {
    #[serde(default)]
    hosts: Vec<HostExports>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostExports {
    pub name: String,
    #[serde(default)]
    pub exports: BTreeMap<String, serde_json::Value>,
}

/// File name of a run's exports in its history directory.
pub(super) const EXPORTS_FILE: &str = "exports.json";

/// The body of `exports.json` for `report`.
pub(super) fn exports_json(report: &RunReport) -> String {
    let stored = StoredExports {
        hosts: report
            .hosts
            .iter()
            .map(|h| HostExports {
                name: h.name.clone(),
                exports: h.exports.clone(),
            })
            .collect(),
    };
    // Strings and JSON values serialize without error.
    serde_json::to_string(&stored).expect("exports serialize")
}

/// One stored run's exports, host by host.
#[derive(Debug, Clone)]
pub struct RunExports {
    pub meta: RunMeta,
    pub hosts: Vec<HostExports>,
}

/// The newest `last` runs of a workflow/inventory pair, oldest first, up to
/// and including run `until` when given (a report rendered again shows the
/// trend as it was then). A run whose report cannot be read is left out,
/// so one damaged run never hides the others.
pub fn recent_exports(
    store: &Store,
    workflow: &str,
    inventory: &str,
    until: Option<&str>,
    last: usize,
) -> Result<Vec<RunExports>, HistoryError> {
    let metas: Vec<RunMeta> = store
        .list()?
        .into_iter()
        .filter(|m| m.same_pair(workflow, inventory))
        .filter(|m| until.is_none_or(|u| m.id.as_str() <= u))
        .collect();
    let skip = metas.len().saturating_sub(last);
    Ok(metas
        .into_iter()
        .skip(skip)
        .filter_map(|meta| {
            let stored: StoredExports = store
                .read_run_file(&meta, EXPORTS_FILE)
                .or_else(|_| store.read_report(&meta))
                .ok()?;
            Some(RunExports {
                meta,
                hosts: stored.hosts,
            })
        })
        .collect())
}

/// Names that some host exported as a number in some run, sorted.
pub fn numeric_names(runs: &[RunExports]) -> Vec<String> {
    let mut names: Vec<String> = runs
        .iter()
        .flat_map(|r| &r.hosts)
        .flat_map(|h| &h.exports)
        .filter(|(_, v)| v.is_number())
        .map(|(k, _)| k.clone())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// `name`'s values for every host `host_wanted` accepts, one per run (a
/// run where the host is absent, unreached or exported no number is
/// `None`). Hosts appear in the order they first appear, oldest run first;
/// a host that never exported a number for `name` is left out.
pub fn trend(runs: &[RunExports], name: &str, host_wanted: impl Fn(&str) -> bool) -> Trend {
    let mut hosts: Vec<HostSeries> = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        for h in run.hosts.iter().filter(|h| host_wanted(&h.name)) {
            let Some(serde_json::Value::Number(n)) = h.exports.get(name) else {
                continue;
            };
            let pos = match hosts.iter().position(|s| s.host == h.name) {
                Some(p) => p,
                None => {
                    hosts.push(HostSeries {
                        host: h.name.clone(),
                        values: vec![None; runs.len()],
                    });
                    hosts.len() - 1
                }
            };
            hosts[pos].values[i] = Some(n.clone());
        }
    }
    let first = runs.first().map(|r| &r.meta);
    Trend {
        name: name.to_string(),
        workflow: first.map(|m| m.workflow.clone()).unwrap_or_default(),
        inventory: first.map(|m| m.inventory.clone()).unwrap_or_default(),
        runs: runs
            .iter()
            .map(|r| TrendRun {
                id: r.meta.id.clone(),
                started_at: r.meta.started_at.clone(),
            })
            .collect(),
        hosts,
    }
}

/// A trend for every numeric export, all hosts: the HTML report's charts.
pub fn all_trends(runs: &[RunExports]) -> Vec<Trend> {
    numeric_names(runs)
        .iter()
        .map(|n| trend(runs, n, |_| true))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixture;

    #[test]
    fn values_line_up_by_run_across_hosts_that_come_and_go()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = Store::at(dir.path());
        let disks: [&[(&str, serde_json::Value)]; 4] = [
            &[("web-1", 40.into()), ("db-2", 62.into())],
            &[("web-1", 45.into())],
            &[("web-1", "n/a".into()), ("db-2", 79.5.into())],
            &[("web-1", 50.into()), ("db-2", 81.into())],
        ];
        for (i, values) in disks.iter().enumerate() {
            let mut report = fixture::mixed_run();
            for h in &mut report.hosts {
                h.exports.clear();
                if let Some((_, v)) = values.iter().find(|(n, _)| *n == h.name) {
                    h.exports.insert("disk_use".into(), v.clone());
                }
            }
            let mut meta = RunMeta::new(&report, "a".into(), "b".into());
            meta.id = format!("2024050{}T100000.000Z-000{i}", i + 1);
            store.save(&meta, &report)?;
        }
        // A run stored before exports.json existed: read from report.json.
        std::fs::remove_file(
            dir.path()
                .join("runs/20240503T100000.000Z-0002/exports.json"),
        )?;
        let pair = |m: &RunMeta| (m.workflow.clone(), m.inventory.clone());
        let (workflow, inventory) = pair(&store.list()?[0]);
        let runs = recent_exports(&store, &workflow, &inventory, None, 3)?;
        assert_eq!(runs.len(), 3, "the newest 3");
        assert_eq!(numeric_names(&runs), ["disk_use"]);
        let t = trend(&runs, "disk_use", |_| true);
        assert_eq!(t.runs[0].id, "20240502T100000.000Z-0001");
        let values = |host: &str| {
            t.hosts
                .iter()
                .find(|s| s.host == host)
                .map(|s| s.values.iter().map(|v| v.as_ref().map(ToString::to_string)))
                .map(Iterator::collect::<Vec<_>>)
        };
        let some = |v: &str| Some(v.to_string());
        assert_eq!(values("web-1"), Some(vec![some("45"), None, some("50")]));
        assert_eq!(values("db-2"), Some(vec![None, some("79.5"), some("81")]));
        let only = trend(&runs, "disk_use", |h| h == "db-2");
        assert_eq!(only.hosts.len(), 1);
        // As of the second run: the runs up to it.
        let then = recent_exports(
            &store,
            &workflow,
            &inventory,
            Some("20240502T100000.000Z-0001"),
            10,
        )?;
        assert_eq!(then.len(), 2);
        assert!(trend(&runs, "nope", |_| true).hosts.is_empty());
        Ok(())
    }
}
