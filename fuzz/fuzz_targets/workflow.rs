//! Any text as a workflow file: the loader must return a model or errors,
//! never panic or hang. The path points nowhere, so `include` fails cleanly.
#![no_main]

use fleet::load::parse_workflow;
use fleet::model::SourceFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = parse_workflow(SourceFile::new("/nonexistent/fuzz/workflow.kdl", text));
});
