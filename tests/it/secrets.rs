//! Issue 12, every byte masked: a secret is in no artifact of a run, in
//! any encoding, and a secret too short to mask is refused.

use crate::cli::{files_under, fleet};
use crate::harness::Hosts;

const KDL_SECRET: &str = "tok-KDL-7f3a9";
/// With a `'`: shell quoting writes it as `'\''` in the command.
const ENV_SECRET: &str = "pw'ENV-51c2e";

/// Every base64 field of a JSON document, decoded.
fn base64_fields(value: &serde_json::Value, out: &mut Vec<Vec<u8>>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if k == "base64"
                    && let Some(text) = v.as_str()
                {
                    let raw = data_encoding::BASE64
                        .decode(text.as_bytes())
                        .unwrap_or_else(|e| panic!("invalid base64 {text}: {e}"));
                    out.push(raw);
                }
                base64_fields(v, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| base64_fields(v, out)),
        _ => {}
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Issue 12: a secret printed next to one non-UTF-8 byte was masked in
/// `text` but written in clear in the `base64` of the JSON report and the
/// history. Every artifact is searched: raw bytes and decoded base64.
#[test]
fn a_secret_beside_binary_output_is_in_no_byte_of_any_artifact() {
    let hosts = Hosts::start(1);
    let wf = hosts.write_file(
        "secret.kdl",
        r##"
workflow secret {
    timeout "20s"
    vars {
        api_token "tok-KDL-7f3a9" secret=#true
    }
    step call {
        run #"printf '\377token=%s pass=%s\n' {{ api_token }} {{ db_pass }}; printf '%s\376' {{ db_pass }} >&2"#
        expect stdout not-contains="token=" message="{{ host.name }} printed {{ api_token }} and {{ db_pass }}"
        export echoed "stdout"
    }
}
"##,
    );
    let inv = hosts.write_inventory("hosts");
    let state = hosts.dir().join("state");
    let out_dir = hosts.dir().join("reports");
    std::fs::create_dir_all(&out_dir).unwrap_or_else(|e| panic!("{e}"));
    let mut run = fleet(&[
        "run".to_string(),
        wf.display().to_string(),
        "--inventory".into(),
        inv.display().to_string(),
        "--set-secret".into(),
        "db_pass".into(),
    ]);
    for (format, file) in [("junit", "r.xml"), ("md", "r.md"), ("html", "r.html")] {
        run = run
            .arg("--report")
            .arg(format!("{format}={}", out_dir.join(file).display()));
    }
    let out = run
        .env("FLEET_SECRET_db_pass", ENV_SECRET)
        .state_in(&state)
        .json_in(&out_dir)
        .run();
    out.expect_code(1);

    let mut artifacts: Vec<(String, Vec<u8>)> = vec![
        ("stdout".into(), out.stdout.clone().into_bytes()),
        ("stderr".into(), out.stderr.clone().into_bytes()),
    ];
    let mut decoded = 0;
    for path in files_under(&out_dir).into_iter().chain(files_under(&state)) {
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
        if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&bytes) {
            let mut fields = Vec::new();
            base64_fields(&json, &mut fields);
            for (i, raw) in fields.into_iter().enumerate() {
                decoded += 1;
                artifacts.push((format!("{} base64 #{i}", path.display()), raw));
            }
        }
        artifacts.push((path.display().to_string(), bytes));
    }
    assert!(
        decoded >= 4,
        "stdout and stderr in base64 in the report and the history"
    );
    for (name, bytes) in &artifacts {
        for secret in [KDL_SECRET, ENV_SECRET, "ENV-51c2e"] {
            assert!(
                !contains(bytes, secret),
                "{secret} leaked into {name}:\n{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
    assert!(out.stdout.contains("********"), "{}", out.stdout);
}

#[test]
fn a_secret_shorter_than_four_characters_is_refused_before_anything_runs() {
    let hosts = Hosts::start(1);
    let wf = hosts.write_file(
        "short.kdl",
        r#"workflow short { step s { run "echo {{ pin }}" } }"#,
    );
    let inv = hosts.write_inventory("hosts");
    let out = fleet(&[
        "run".to_string(),
        wf.display().to_string(),
        "--inventory".into(),
        inv.display().to_string(),
        "--set-secret".into(),
        "pin".into(),
    ])
    .env("FLEET_SECRET_pin", "e1x")
    .run();
    out.expect_code(2);
    assert!(
        out.stderr.contains("secret `pin` is 3 character(s) long"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("e1x") && !out.stdout.contains("e1x"));
}
