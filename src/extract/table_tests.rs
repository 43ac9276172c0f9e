//! Table parser on real-format samples (fixtures/), with the parsed JSON
//! snapshotted so a layout change is visible in review.

use serde_json::{Value, json};

use crate::extract::{ExtractError, Extractor, TableOptions, extract};

fn table(text: &str, options: TableOptions) -> Value {
    match extract(&Extractor::Table(options), text) {
        Ok(v) => v,
        Err(e) => panic!("table did not parse: {e}"),
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn column<'a>(rows: &'a Value, name: &str) -> Vec<&'a str> {
    rows.as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| r[name].as_str().unwrap_or("<missing>"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn df_posix_keeps_mounted_on_as_one_column() {
    let rows = table(include_str!("fixtures/df_p.txt"), TableOptions::default());
    assert_eq!(
        column(&rows, "Mounted on"),
        [
            "/dev",
            "/run",
            "/",
            "/dev/shm",
            "/boot/efi",
            "/mnt/backup disk",
            "/mnt/nas"
        ]
    );
    assert_eq!(column(&rows, "Capacity")[2], "89%");
    assert_eq!(column(&rows, "Used")[0], "0");
    assert_eq!(column(&rows, "Available")[5], "836378475");
    insta::assert_snapshot!("df_p", pretty(&rows));
}

#[test]
fn df_human_splits_single_space_headers_by_alignment() {
    let rows = table(include_str!("fixtures/df_h.txt"), TableOptions::default());
    assert_eq!(
        column(&rows, "Avail"),
        ["7.8G", "1.6G", "51G", "7.7G", "505M", "798G"]
    );
    assert_eq!(column(&rows, "Use%")[2], "89%");
    insta::assert_snapshot!("df_h", pretty(&rows));
}

#[test]
fn df_wrapped_filesystem_name_is_merged_back() {
    // Old df (without -P) puts a long device name on its own line.
    let text = "\
Filesystem            Size  Used Avail Use% Mounted on
/dev/mapper/VolGroup00-LogVol00
                       29G  3.4G   24G  13% /
/dev/sda1              99M   20M   75M  21% /boot
";
    let rows = table(text, TableOptions::default());
    assert_eq!(
        rows,
        json!([
            {"Filesystem": "/dev/mapper/VolGroup00-LogVol00", "Size": "29G", "Used": "3.4G",
             "Avail": "24G", "Use%": "13%", "Mounted on": "/"},
            {"Filesystem": "/dev/sda1", "Size": "99M", "Used": "20M",
             "Avail": "75M", "Use%": "21%", "Mounted on": "/boot"},
        ])
    );
}

#[test]
fn bosh_deployments_fills_continuation_rows_and_drops_footer() {
    let rows = table(
        include_str!("fixtures/bosh_deployments.txt"),
        TableOptions {
            skip_lines: 1,
            ..TableOptions::default()
        },
    );
    assert_eq!(rows.as_array().map(Vec::len), Some(5), "{}", pretty(&rows));
    assert_eq!(rows[3]["Name"], "postfix-production");
    assert_eq!(rows[3]["Release(s)"], "bosh-dns/1.20.0");
    assert_eq!(
        rows[2]["Stemcell(s)"],
        "bosh-aws-xen-hvm-ubuntu-xenial-go_agent/621.61"
    );
    insta::assert_snapshot!("bosh_deployments", pretty(&rows));
}

#[test]
fn bosh_continuation_without_fill_down_keeps_empty_cells() {
    let rows = table(
        include_str!("fixtures/bosh_deployments.txt"),
        TableOptions {
            skip_lines: 1,
            fill_down: false,
            ..TableOptions::default()
        },
    );
    assert_eq!(
        rows[3],
        json!({"Name": "", "Release(s)": "bosh-dns/1.20.0",
               "Stemcell(s)": "bosh-aws-xen-hvm-ubuntu-xenial-go_agent/621.64", "Team(s)": ""})
    );
}

#[test]
fn headerless_grep_output_uses_given_columns() {
    let columns = ["name", "releases", "stemcell", "team"]
        .map(String::from)
        .to_vec();
    let rows = table(
        include_str!("fixtures/bosh_deployments_grep.txt"),
        TableOptions {
            columns: Some(columns),
            ..TableOptions::default()
        },
    );
    assert_eq!(rows.as_array().map(Vec::len), Some(12));
    assert_eq!(
        rows[6]["stemcell"],
        "bosh-aws-xen-hvm-ubuntu-xenial-go_agent/621.61"
    );
    assert_eq!(rows[7]["name"], "postfix-production");
    assert_eq!(rows[7]["releases"], "bosh-dns/1.20.0");
    insta::assert_snapshot!("bosh_deployments_grep", pretty(&rows));
}

#[test]
fn headerless_extra_text_goes_to_last_column_and_missing_are_empty() {
    let text = "a  b  c d\nx  y  z\n";
    let two = |names: &[&str]| {
        table(
            text,
            TableOptions {
                columns: Some(names.iter().map(|s| s.to_string()).collect()),
                ..TableOptions::default()
            },
        )
    };
    assert_eq!(
        two(&["one", "rest"])[0],
        json!({"one": "a", "rest": "b  c d"})
    );
    assert_eq!(
        two(&["p", "q", "r", "s", "t"])[1],
        json!({"p": "x", "q": "y", "r": "z", "s": "", "t": ""})
    );
}

#[test]
fn docker_service_ls_blank_ports_are_empty_strings() {
    let rows = table(
        include_str!("fixtures/docker_service_ls.txt"),
        TableOptions::default(),
    );
    assert_eq!(
        column(&rows, "PORTS"),
        [
            "*:8443->8443/tcp",
            "",
            "",
            "*:80->80/tcp, *:443->443/tcp",
            ""
        ]
    );
    assert_eq!(
        column(&rows, "REPLICAS"),
        ["1/1", "1/1", "0/1", "3/3", "2/2"]
    );
    insta::assert_snapshot!("docker_service_ls", pretty(&rows));
}

#[test]
fn docker_node_ls_two_word_headers_and_blank_manager_status() {
    let rows = table(
        include_str!("fixtures/docker_node_ls.txt"),
        TableOptions::default(),
    );
    assert_eq!(
        column(&rows, "MANAGER STATUS"),
        ["Leader", "Reachable", "Unreachable", ""]
    );
    assert_eq!(column(&rows, "ENGINE VERSION")[3], "20.10.17");
    assert_eq!(column(&rows, "ID")[0], "m0xbp0wuztvasotxpmq1xnmo8 *");
    insta::assert_snapshot!("docker_node_ls", pretty(&rows));
}

#[test]
fn ps_aux_command_takes_rest_of_line() {
    let rows = table(include_str!("fixtures/ps_aux.txt"), TableOptions::default());
    assert_eq!(column(&rows, "PID"), ["1", "812", "2201"]);
    assert_eq!(column(&rows, "STAT"), ["Ss", "Ssl", "Sl"]);
    assert_eq!(
        column(&rows, "COMMAND")[2],
        "mongod --replSet rs0 --bind_ip_all"
    );
    insta::assert_snapshot!("ps_aux", pretty(&rows));
}

#[test]
fn tabs_expand_to_terminal_columns() {
    let rows = table("NAME\tSTATE\nweb\tup\ndb\tdown\n", TableOptions::default());
    assert_eq!(
        rows,
        json!([{"NAME": "web", "STATE": "up"}, {"NAME": "db", "STATE": "down"}])
    );
}

#[test]
fn header_only_is_an_empty_table() {
    let rows = table("ID   NAME\n", TableOptions::default());
    assert_eq!(rows, json!([]));
}

#[test]
fn table_errors_say_what_is_wrong() {
    let err = |text: &str, options: TableOptions| match extract(&Extractor::Table(options), text) {
        Ok(v) => panic!("expected an error, got {v}"),
        Err(e) => e,
    };
    let e = err(
        "banner\n\n",
        TableOptions {
            skip_lines: 1,
            ..TableOptions::default()
        },
    );
    assert_eq!(
        e,
        ExtractError::NoHeader {
            lines: 2,
            skipped: 1
        }
    );
    assert_eq!(
        e.to_string(),
        "no table header: the output has 2 line(s) and only blank lines remain after skipping 1"
    );
    let e = err("A  B  A\n1  2  3\n", TableOptions::default());
    assert_eq!(
        e.to_string(),
        "column name \"A\" appears twice in the table header"
    );
    let e = err(
        "x\n",
        TableOptions {
            columns: Some(vec![]),
            ..TableOptions::default()
        },
    );
    assert_eq!(e, ExtractError::NoColumns);
}
