//! Ansible INI and YAML inventories import to the same model as KDL.

use std::path::PathBuf;

use super::inventory::load_inventory;
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
