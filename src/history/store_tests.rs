use super::*;
use crate::model::fixture;

#[test]
fn saved_runs_list_in_order_and_load_back() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::at(dir.path());
    assert!(store.list()?.is_empty());
    let report = fixture::mixed_run();
    let mut first = RunMeta::new(&report, "a".into(), "b".into());
    first.id = "20240501T100000Z-0001".into();
    let mut second = first.clone();
    second.id = "20240501T110000Z-0002".into();
    store.save(&second, &report)?;
    store.save(&first, &report)?;
    let ids: Vec<_> = store.list()?.into_iter().map(|m| m.id).collect();
    assert_eq!(ids, ["20240501T100000Z-0001", "20240501T110000Z-0002"]);
    assert_eq!(store.find("last")?.id, second.id);
    assert_eq!(store.find("20240501T10")?.id, first.id);
    assert!(matches!(
        store.find("2024"),
        Err(HistoryError::Ambiguous { .. })
    ));
    assert!(matches!(
        store.find("nope"),
        Err(HistoryError::UnknownRun(_))
    ));
    let back = store.report(&first)?;
    assert_eq!(back.totals, report.totals);
    assert_eq!(back.to_json(), report.to_json());
    Ok(())
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).map_or(0, |m| m.permissions().mode() & 0o7777)
}

/// Before: the state directory and runs were 0755 and files 0644, so
/// any local user could read every host's output.
#[test]
fn history_is_private() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("state/fleet");
    let store = Store::at(&state);
    let report = fixture::mixed_run();
    let meta = RunMeta::new(&report, "a".into(), "b".into());
    store.save(&meta, &report)?;
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("runs")), 0o700);
    let run = state.join("runs").join(&meta.id);
    assert_eq!(mode(&run), 0o700);
    assert_eq!(mode(&run.join("report.json")), 0o600);
    assert_eq!(mode(&run.join("meta.json")), 0o600);
    assert_eq!(mode(&run.join("exports.json")), 0o600);
    // Left 0755 by an older fleet: tightened on the next save.
    fs::set_permissions(state.join("runs"), fs::Permissions::from_mode(0o755))?;
    let second = RunMeta::new(&report, "a".into(), "b".into());
    store.save(&second, &report)?;
    assert_eq!(mode(&state.join("runs")), 0o700);
    Ok(())
}

fn stored(store: &Store, id: &str, workflow: &str, started_at: &str) -> RunMeta {
    let report = fixture::mixed_run();
    let mut meta = RunMeta::new(&report, "a".into(), "b".into());
    meta.id = id.into();
    meta.workflow = workflow.into();
    meta.started_at = started_at.into();
    store.save(&meta, &report).unwrap_or_else(|e| panic!("{e}"));
    meta
}

#[test]
fn prune_keeps_the_newest_per_pair_and_drops_old_runs() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::at(dir.path());
    for (i, wf) in ["w", "w", "other", "w"].iter().enumerate() {
        stored(
            &store,
            &format!("2024050{}T100000.000Z-000{i}", i + 1),
            wf,
            &format!("2024-05-0{}T10:00:00Z", i + 1),
        );
    }
    let now = UNIX_EPOCH + Duration::from_secs(1_715_335_200); // 2024-05-10T10:00:00Z
    let keep_one = Retention {
        keep: Some(1),
        older_than: None,
    };
    let removed = store.prune(keep_one, |_| true, now)?;
    let ids: Vec<&str> = removed.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        ["20240501T100000.000Z-0000", "20240502T100000.000Z-0001"]
    );
    assert!(!dir.path().join("runs/20240501T100000.000Z-0000").exists());
    let left: Vec<String> = store.list()?.into_iter().map(|m| m.id).collect();
    assert_eq!(
        left,
        ["20240503T100000.000Z-0002", "20240504T100000.000Z-0003"]
    );
    // 7 days before 05-10 is 05-03: the run of 05-03 is older.
    let week = Retention {
        keep: None,
        older_than: Some(Duration::from_secs(7 * 86400 - 60)),
    };
    let removed = store.prune(week, |m| m.workflow == "other", now)?;
    assert_eq!(removed.len(), 1);
    assert_eq!(store.list()?.len(), 1);
    Ok(())
}

/// An edited meta.json whose id points outside the store is not a run:
/// never listed, so never read from or removed.
#[test]
fn a_meta_whose_id_is_not_its_directory_is_ignored() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let store = Store::at(dir.path().join("state"));
    let meta = stored(
        &store,
        "20240501T100000.000Z-0001",
        "w",
        "2024-05-01T10:00:00Z",
    );
    let mut evil = meta.clone();
    evil.id = "../../victim".into();
    fs::write(
        dir.path()
            .join("state/runs")
            .join(&meta.id)
            .join("meta.json"),
        serde_json::to_string(&evil)?,
    )?;
    fs::create_dir_all(dir.path().join("victim"))?;
    assert!(store.list()?.is_empty());
    let all = Retention {
        keep: Some(0),
        older_than: None,
    };
    assert!(store.prune(all, |_| true, SystemTime::now())?.is_empty());
    assert!(dir.path().join("victim").exists());
    Ok(())
}

#[test]
fn someone_always_ran_it() {
    let user = current_user();
    assert!(!user.is_empty() && user != "unknown", "{user}");
}

#[test]
fn ids_sort_by_start_time() {
    let id = new_id("2024-05-01T10:00:00.123456Z");
    assert!(id.starts_with("20240501T100000.123Z-"), "{id}");
    let whole = new_id("2024-05-01T10:00:00Z");
    assert!(whole.starts_with("20240501T100000.000Z-"), "{whole}");
    let later = new_id("2024-05-01T10:00:00.5Z");
    assert!(later.starts_with("20240501T100000.500Z-"), "{later}");
    assert!(id < later);
}
