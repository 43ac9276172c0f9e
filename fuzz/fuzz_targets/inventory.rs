//! Any text as an inventory file: errors, never a panic or a hang.
#![no_main]

use fleet::load::parse_inventory;
use fleet::model::SourceFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = parse_inventory(SourceFile::new("/nonexistent/fuzz/inventory.kdl", text));
});
