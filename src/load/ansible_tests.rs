//! Ansible INI and YAML inventories import to the same model as KDL.

use std::path::PathBuf;

use crate::load::inventory::load_inventory;
use crate::model::Inventory;

const INI: &str = "\
# prod fleet
bastion ansible_host=10.0.9.1

[web]
web[01:02] ansible_user=deploy
web03 ansible_host=10.0.0.3 ansible_port=2222 role='edge'

[db]
db1 ansible_host=10.0.1.1 ansible_ssh_private_key_file=keys/db

[prod:children]
web
db

[prod:vars]
env=production
disk_max=80

[all:vars]
ansible_user=ops
";

const YAML: &str = "\
all:
  vars:
    ansible_user: ops
  hosts:
    bastion:
      ansible_host: 10.0.9.1
  children:
    prod:
      vars:
        env: production
        disk_max: 80
      children:
        web:
          hosts:
            web[01:02]:
              ansible_user: deploy
            web03:
              ansible_host: 10.0.0.3
              ansible_port: 2222
              role: edge
        db:
          hosts:
            db1:
              ansible_host: 10.0.1.1
              ansible_ssh_private_key_file: keys/db
";

fn load(name: &str, text: &str) -> Result<Inventory, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(name);
    std::fs::write(&path, text)?;
    let inv = load_inventory(&path).map_err(|e| format!("{e:?}"))?;
    // The temp dir goes away; identity paths keep its name, compare by suffix.
    drop(dir);
    Ok(inv)
}

fn describe(inv: &Inventory) -> Vec<String> {
    inv.hosts
        .iter()
        .map(|h| {
            let keys: Vec<String> = h
                .identity_files
                .iter()
                .map(|p| {
                    p.strip_prefix(
                        p.parent()
                            .and_then(|d| d.parent())
                            .unwrap_or(&PathBuf::new()),
                    )
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
                })
                .collect();
            let mut groups = h.groups.clone();
            groups.sort();
            format!(
                "{} {}@{}:{} groups={} keys={} vars={}",
                h.name,
                h.user,
                h.address,
                h.port,
                groups.join(","),
                keys.join(","),
                serde_json::to_string(&h.vars).unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn ini_and_yaml_import_to_the_same_hosts() -> Result<(), Box<dyn std::error::Error>> {
    let ini = load("hosts.ini", INI)?;
    let yaml = load("hosts.yml", YAML)?;
    let mut a = describe(&ini);
    let mut b = describe(&yaml);
    a.sort();
    b.sort();
    assert_eq!(a, b);
    insta::assert_snapshot!("ansible_import", a.join("\n"));
    assert_eq!(ini.name, "hosts");
    Ok(())
}

#[test]
fn extensionless_files_are_detected_by_content() -> Result<(), Box<dyn std::error::Error>> {
    let inv = load("hosts", INI)?;
    assert_eq!(inv.hosts.len(), 5);
    let yaml = load("inventory", YAML)?;
    assert_eq!(yaml.hosts.len(), 5);
    Ok(())
}

#[test]
fn bad_port_is_an_error_with_a_location() {
    let err = load("bad.ini", "[web]\nweb1 ansible_port=http\n").expect_err("bad port");
    let text = err.to_string();
    assert!(text.contains("ansible_port `http`"), "{text}");
    assert!(text.contains("bad.ini"), "{text}");
}

/// The layout of issue 12: `prod_db` has two parents. Before, the import
/// kept only the first, so `db1` was not in `prod` and `forbid-groups
/// "prod"` let it through.
const TWO_PARENTS_INI: &str = "\
[prod_db]
db1 ansible_host=10.0.0.5

[databases:children]
prod_db

[prod:children]
prod_db
";

const TWO_PARENTS_YAML: &str = "\
all:
  children:
    databases:
      children:
        prod_db:
          hosts:
            db1:
              ansible_host: 10.0.0.5
    prod:
      children:
        prod_db:
";

#[test]
fn a_group_with_two_parents_is_in_both() -> Result<(), Box<dyn std::error::Error>> {
    for (name, text) in [
        ("hosts.ini", TWO_PARENTS_INI),
        ("hosts.yml", TWO_PARENTS_YAML),
    ] {
        let inv = load(name, text)?;
        let mut groups = inv.hosts[0].groups.clone();
        groups.sort();
        assert_eq!(groups, ["databases", "prod", "prod_db"], "{name}");
    }
    Ok(())
}

#[test]
fn group_cycles_are_an_error_naming_the_line() {
    let text = "[a:children]\nb\n\n[b:children]\na\n\n[a]\nh1\n";
    let err = load("cycle.ini", text).expect_err("cycle");
    let text = format!("{err:?}");
    assert!(text.contains("group cycle"), "{text}");
    let err = errors("cycle.ini", "[a:children]\nb\n\n[b:children]\na\n");
    assert!(err.0[0].location().ends_with("cycle.ini:5:1"), "{err:?}");
}

/// Loads `text` expecting errors; locations end with `name:LINE:COL`.
fn errors(name: &str, text: &str) -> crate::load::LoadErrors {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    match load_inventory(&path) {
        Ok(_) => panic!("{name} loaded without errors"),
        Err(e) => e,
    }
}

fn range_error(host: &str) -> String {
    let err = errors("r.ini", &format!("[web]\n{host} ansible_user=x\n"));
    assert_eq!(err.0.len(), 1, "{err:?}");
    assert!(
        err.0[0].location().ends_with("r.ini:2:1"),
        "{}",
        err.0[0].location()
    );
    err.0[0].message().to_string()
}

#[test]
fn bad_or_huge_ranges_are_errors_with_a_location_not_panics() {
    // Before: `a]b[1:2` sliced out of order and panicked; the huge range
    // tried to allocate a hundred billion names.
    assert!(range_error("a]b[1:2").contains("unbalanced"));
    let huge = range_error("web[0:99999999999]");
    assert!(huge.contains("100000000000 names"), "{huge}");
    assert!(huge.contains("at most 10000"), "{huge}");
    assert!(range_error("web[5:1]").contains("must go up"));
    assert!(range_error("web[1:x]").contains("neither a number nor a letter"));
    assert!(range_error("web[1:5:0]").contains("stride"));
    assert!(range_error("web[01:100]").contains("equal width"));
    // Two ranges multiply: 200 × 100 is over the cap.
    assert!(range_error("w[1:200]-[1:100]").contains("20000 names"));
}

#[test]
fn ranges_expand_like_ansible() -> Result<(), Box<dyn std::error::Error>> {
    let inv = load(
        "r.ini",
        "[web]\nweb[01:03].x\ndb-[a:c]\nodd[1:7:3]\nrack[1:2]-n[1:2]\n",
    )?;
    let names: Vec<&str> = inv.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "web01.x", "web02.x", "web03.x", "db-a", "db-b", "db-c", "odd1", "odd4", "odd7",
            "rack1-n1", "rack1-n2", "rack2-n1", "rack2-n2"
        ]
    );
    // The cap is per file: many ranges just under it still add up.
    let mut text = String::from("[web]\n");
    for i in 0..3 {
        text.push_str(&format!("g{i}-[1:4000]\n"));
    }
    let err = errors("r.ini", &text);
    assert!(
        err.0[0].location().ends_with("r.ini:4:1"),
        "{}",
        err.0[0].location()
    );
    Ok(())
}

#[test]
fn fleet_protect_marks_a_group_protected() -> Result<(), Box<dyn std::error::Error>> {
    let inv = load(
        "hosts.ini",
        "[prod]\ndb1\n\n[prod:vars]\nfleet_protect=true\n\n[test]\nt1\n",
    )?;
    let protected: Vec<&str> = inv.protected.iter().map(|p| p.value.as_str()).collect();
    assert_eq!(protected, ["prod"]);
    let yaml = load(
        "hosts.yml",
        "all:\n  children:\n    prod:\n      vars:\n        fleet_protect: true\n      hosts:\n        db1:\n",
    )?;
    assert_eq!(yaml.protected.len(), 1);
    let err = errors("all.ini", "[all:vars]\nfleet_protect=true\n[web]\nw1\n");
    assert!(
        err.0[0].message().contains("would protect every host"),
        "{err:?}"
    );
    Ok(())
}

/// Every host name of up to five characters from the range alphabet loads
/// or fails with an error: no panic, no huge allocation (a small,
/// exhaustive stand-in for the `ansible` fuzz target).
#[test]
fn every_short_bracket_pattern_loads_or_is_an_error() {
    use crate::load::parse_any_inventory;
    use crate::model::SourceFile;
    let alphabet = ['[', ']', ':', '0', '9', 'a', '-'];
    let mut names = vec![String::new()];
    for _ in 0..5 {
        names = names
            .iter()
            .flat_map(|n| alphabet.iter().map(move |c| format!("{n}{c}")))
            .collect();
        for name in &names {
            let text = format!("[g]\nh{name}\n");
            let _ = parse_any_inventory(SourceFile::new("x.ini", &text));
        }
    }
}
