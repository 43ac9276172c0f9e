//! Any text as an Ansible inventory, INI and YAML (the first byte picks):
//! errors, never a panic, a hang or an allocation the size of a range.
#![no_main]

use fleet::load::parse_ansible_inventory;
use fleet::model::SourceFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let yaml = mode % 2 == 1;
    let path = if yaml {
        "/nonexistent/fuzz/hosts.yml"
    } else {
        "/nonexistent/fuzz/hosts.ini"
    };
    let _ = parse_ansible_inventory(SourceFile::new(path, text), yaml);
});
