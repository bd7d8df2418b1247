//! Fuzz target: lineage extraction and template rendering must never panic
//! or hang on any input, in any dialect.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ripple::lineage::{Dialect, ExtractOptions, extract, template};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let dialect = Dialect::ALL[data.first().map_or(0, |b| *b as usize) % Dialect::ALL.len()];
    let opts = ExtractOptions {
        dialect,
        default_project: Some("p".into()),
        default_dataset: Some("d".into()),
    };
    let ex = extract(text, &opts);
    // Invariant: per-file sets are the union of per-statement sets.
    for s in &ex.statements {
        assert!(s.reads.is_subset(&ex.reads));
        assert!(s.writes.is_subset(&ex.writes));
    }
    let _ = template::render(text);
});
