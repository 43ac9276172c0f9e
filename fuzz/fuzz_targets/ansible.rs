//! Any text as an Ansible inventory, INI and YAML: errors, never a panic,
//! a hang or a huge allocation (host ranges are capped).
#![no_main]

use fleet::load::parse_any_inventory;
use fleet::model::SourceFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    for path in ["/nonexistent/fuzz/hosts.ini", "/nonexistent/fuzz/hosts.yml"] {
        let _ = parse_any_inventory(SourceFile::new(path, text));
    }
});
