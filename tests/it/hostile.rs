//! Issue 12, "Bounded work on hostile input", against real sshd: a host
//! whose output would make a parser build billions of values fails its own
//! step with a message naming the limit; the controller stays up, the
//! other host passes and the report is written.

use crate::cli::run_workflow;
use crate::harness::Hosts;

/// 100,000 two-space-separated column names, then 100,000 one-letter rows:
/// about 890 KB (under the 1 MiB output cap) asking for 10^10 cells. On
/// main the controller runs out of memory and no report is written.
const ATTACK: &str = r#"if [ "$1" = host-1 ]; then
    seq -s '  ' 0 99999
    yes x | head -n 100000
else
    df -P /
fi
"#;

#[test]
fn table_of_billions_of_cells_fails_that_host_step_only() {
    let hosts = Hosts::start(2);
    let script = hosts.write_file("attack.sh", ATTACK);
    let workflow = format!(
        r#"
workflow hostile {{
    step table {{
        run "sh {} {{{{ host.name }}}}"
        parse table
        expect "data | length > 0"
    }}
    step after {{
        run "echo after"
        expect stdout contains="after"
    }}
}}
"#,
        script.display()
    );
    let out = run_workflow(&hosts, &workflow).run();
    out.expect_code(1);
    let attacked = out.step("host-1", "table");
    assert_eq!(attacked["status"], "FAILED");
    assert_eq!(
        attacked["stdout"]["truncated"], false,
        "the attack must fit the cap"
    );
    let seen = attacked["failures"][0]["seen"].as_str().unwrap_or_default();
    assert!(
        seen.contains("100,000 words in the header line")
            && seen.contains("over the limit of 256 table columns (MAX_TABLE_COLUMNS)"),
        "{seen}"
    );
    assert_eq!(out.step("host-1", "after")["status"], "PASSED");
    assert_eq!(out.host("host-2")["status"], "OK");
    assert_eq!(out.step("host-2", "table")["status"], "PASSED");
}
