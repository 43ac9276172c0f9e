//! Inventory decoding and resolution: settings inheritance, membership
//! references, vars merging and path resolution.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use crate::load::test_support::{inventory, render};
use crate::model::inventory::DEFAULT_CONNECT_TIMEOUT;
use crate::model::{Host, Inventory};

const FULL: &str = r#"
defaults {
    user "fleet"
    port 22
    identity-file "keys/id_ed25519"
    identity-file "/etc/fleet/id_rsa"
    known-hosts "known_hosts"
    connect-timeout "10s"
    vars { region "eu"; env "none" }
}
group prod {
    user "ops"
    port 2200
    connect-timeout "5s"
    vars { env "production"; tier 1 }
    host ps-prod-1 address="10.0.0.1" port=2201 user="root" identity-file="k" known-hosts="~/kh" connect-timeout="3s" {
        vars { disk_max 70 }
    }
    host ps-prod-2 address="10.0.0.2"
    group prod-east {
        identity-file "east"
        vars { tier 2 }
        host ps-prod-3
    }
}
group dr { vars { site "dr"; tier 9 }; host ps-dr-1 address="10.0.1.1"; host ps-prod-1 }
host standalone address="192.0.2.10"
"#;

fn full() -> Inventory {
    match inventory(FULL) {
        Ok(inventory) => inventory,
        Err(errors) => panic!("{}", render(&errors)),
    }
}

fn host<'a>(inventory: &'a Inventory, name: &str) -> &'a Host {
    inventory
        .hosts
        .iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("no host {name}"))
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .expect("HOME is set")
}

#[test]
fn names_and_order() {
    let inv = full();
    assert_eq!(inv.name, "test");
    let hosts: Vec<&str> = inv.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        hosts,
        [
            "ps-prod-1",
            "ps-prod-2",
            "ps-prod-3",
            "ps-dr-1",
            "standalone"
        ]
    );
    let groups: Vec<(&str, Vec<&str>)> = inv
        .groups
        .iter()
        .map(|g| {
            (
                g.name.as_str(),
                g.parents.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("prod", vec![]),
            ("prod-east", vec!["prod"]),
            ("dr", vec![])
        ]
    );
    assert_eq!(inv.groups[1].span.location(), "inventories/test.kdl:20:5");
}

#[test]
fn host_properties_win() {
    let inv = full();
    let h = host(&inv, "ps-prod-1");
    assert_eq!(h.address, "10.0.0.1");
    assert_eq!(h.port, 2201);
    assert_eq!(h.user, "root");
    assert_eq!(h.identity_files, [PathBuf::from("inventories/k")]);
    assert_eq!(h.known_hosts, [home().join("kh")]);
    assert_eq!(h.connect_timeout, Duration::from_secs(3));
    assert_eq!(h.span.location(), "inventories/test.kdl:16:5");
}

#[test]
fn group_settings_inherit_over_defaults() {
    let inv = full();
    let h = host(&inv, "ps-prod-2");
    assert_eq!(h.address, "10.0.0.2");
    assert_eq!(h.port, 2200);
    assert_eq!(h.user, "ops");
    assert_eq!(h.connect_timeout, Duration::from_secs(5));
    assert_eq!(
        h.identity_files,
        [
            PathBuf::from("inventories/keys/id_ed25519"),
            PathBuf::from("/etc/fleet/id_rsa")
        ]
    );
    assert_eq!(h.known_hosts, [PathBuf::from("inventories/known_hosts")]);
}

#[test]
fn innermost_group_wins_and_lists_replace() {
    let inv = full();
    let h = host(&inv, "ps-prod-3");
    assert_eq!(h.address, "ps-prod-3", "a bare host's address is its name");
    assert_eq!(h.user, "ops");
    assert_eq!(h.port, 2200);
    assert_eq!(h.identity_files, [PathBuf::from("inventories/east")]);
    assert_eq!(h.groups, ["prod", "prod-east"]);
    assert_eq!(h.vars["tier"], json!(2));
    assert_eq!(h.vars["env"], json!("production"));
}

#[test]
fn references_add_membership_and_vars_but_not_settings() {
    let inv = full();
    let h = host(&inv, "ps-prod-1");
    assert_eq!(h.groups, ["prod", "dr"]);
    assert_eq!(h.user, "root");
    // defaults < prod < dr (declaration order) < host
    assert_eq!(h.vars["region"], json!("eu"));
    assert_eq!(h.vars["env"], json!("production"));
    assert_eq!(h.vars["tier"], json!(9));
    assert_eq!(h.vars["site"], json!("dr"));
    assert_eq!(h.vars["disk_max"], json!(70));
}

#[test]
fn top_level_host_takes_defaults() {
    let inv = full();
    let h = host(&inv, "standalone");
    assert_eq!(h.address, "192.0.2.10");
    assert_eq!(h.user, "fleet");
    assert_eq!(h.port, 22);
    assert_eq!(h.connect_timeout, Duration::from_secs(10));
    assert!(h.groups.is_empty());
    assert_eq!(h.vars.len(), 2);
}

#[test]
fn reference_before_definition() {
    let inv = inventory("group dr { host a }\ngroup prod { host a address=\"10.0.0.9\" }")
        .expect("loads");
    assert_eq!(inv.hosts.len(), 1);
    let h = &inv.hosts[0];
    assert_eq!(h.address, "10.0.0.9");
    assert_eq!(h.groups, ["dr", "prod"]);
    assert_eq!(h.span.location(), "inventories/test.kdl:2:14");
}

#[test]
fn bare_hosts_in_two_groups_are_one_host() {
    let inv = inventory("group a { user \"ua\"; host x }\ngroup b { user \"ub\"; host x }")
        .expect("loads");
    assert_eq!(inv.hosts.len(), 1);
    assert_eq!(inv.hosts[0].groups, ["a", "b"]);
    assert_eq!(inv.hosts[0].user, "ua", "the first mention defines it");
}

#[test]
fn built_in_defaults() {
    let inv = inventory("host h").expect("loads");
    let h = &inv.hosts[0];
    assert_eq!(h.port, 22);
    assert_eq!(h.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
    let expected_user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "root".to_owned());
    assert_eq!(h.user, expected_user);
    assert!(h.identity_files.is_empty());
    assert!(h.known_hosts.is_empty());
    assert!(h.vars.is_empty());
}

#[test]
fn empty_inventory_is_valid() {
    let inv = inventory("// nothing yet\n").expect("loads");
    assert!(inv.hosts.is_empty());
    assert!(inv.groups.is_empty());
}

#[test]
fn errors_collected_across_the_tree() {
    let errors = inventory(
        r#"
defaults { port 0 }
defaults { user "x" }
group g { host a port=70000; group g { } }
host a address="1"
host g
"#,
    )
    .expect_err("several errors");
    let messages: Vec<&str> = errors.iter().map(|e| e.message()).collect();
    assert_eq!(
        messages,
        [
            "port 0 is out of range",
            "duplicate block `defaults`",
            "port 70000 is out of range",
            "duplicate group `g`",
            "duplicate host `a`",
            "host `g` has the same name as a group",
        ]
    );
}

/// A bare `group NAME` inside another group adds a parent: the group (and
/// its hosts) is in both, however the graph is walked.
#[test]
fn a_group_referenced_in_two_groups_has_both_as_ancestors() {
    let inv = inventory(
        r#"
group prod { group prod_db; vars { env "production" } }
group databases {
    user "dba"
    group prod_db { host db1 address="10.0.0.5" }
}
group site { group databases }
"#,
    )
    .unwrap_or_else(|e| panic!("{}", render(&e)));
    let db1 = host(&inv, "db1");
    let mut groups = db1.groups.clone();
    groups.sort();
    assert_eq!(groups, ["databases", "prod", "prod_db", "site"]);
    assert_eq!(db1.vars["env"], json!("production"));
    // Settings follow the defining chain: prod_db, then its parents.
    assert_eq!(db1.user, "dba");
    let prod_db = inv.groups.iter().find(|g| g.name == "prod_db");
    assert_eq!(
        prod_db.map(|g| g.parents.clone()),
        Some(vec!["prod".to_string(), "databases".to_string()])
    );
}

#[test]
fn group_cycles_are_a_load_error_naming_the_link() {
    let text = "group a { group b }\ngroup b { group c }\ngroup c {\n    group a\n}\n";
    let errors = inventory(text).expect_err("cycle");
    let messages: Vec<&str> = errors.iter().map(|e| e.message()).collect();
    assert_eq!(
        messages,
        ["group cycle: `a` contains `b` contains `c` contains `a`"],
        "{}",
        render(&errors)
    );
    assert_eq!(errors.0[0].location(), "inventories/test.kdl:4:5");
    let errors = inventory("group a { group a }\n").expect_err("self");
    assert!(
        errors.0[0].message().contains("group cycle"),
        "{}",
        render(&errors)
    );
}

/// A misspelt reference would leave the real group out of `prod` (and
/// out of its guards) without a word: it is an error.
#[test]
fn a_reference_to_an_undefined_group_is_an_error() {
    let errors =
        inventory("group prod { group prod_bd }\ngroup prod_db { host db1 }\n").expect_err("typo");
    let text = render(&errors);
    assert!(
        text.contains("group `prod_bd` is referenced but never defined"),
        "{text}"
    );
    assert!(text.contains("did you mean `prod_db`?"), "{text}");
    // Written with a body, an empty child group is fine; so is a bare
    // top-level group.
    inventory("group prod { group spare { } }\ngroup later\n")
        .unwrap_or_else(|e| panic!("{}", render(&e)));
}
