//! The root README's index of from-scratch types is sound and current: every `module` entry of
//! `catalog.tsv` names a file that exists and defines the type, and the list between the README's
//! index markers is exactly what `make index` would write now.
use std::path::Path;

use harness::catalog;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the harness crate sits in the workspace root")
}

#[test]
fn every_index_entry_resolves_to_a_file_that_defines_it() {
    let entries = catalog::read(root());
    assert!(
        entries.iter().any(|e| !e.module.is_empty()),
        "catalog.tsv lists no from-scratch type at all"
    );
    let problems = catalog::check_sources(root(), &entries);
    assert!(
        problems.is_empty(),
        "catalog.tsv's module column has entries that do not resolve:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn readme_index_is_what_make_index_writes() {
    let entries = catalog::read(root());
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let current = catalog::current_index(&readme).unwrap_or_else(|e| panic!("{e}"));
    let expected = catalog::render_index(&entries);
    assert!(
        current == expected,
        "README.md's index is stale: run `make index`.\n--- README has:\n{current}--- make index writes:\n{expected}"
    );
}

/// Every type the capstone library exports (its `pub use` lines) is in the index, so the index grows
/// with the library.
#[test]
fn every_type_workpool_exports_is_indexed() {
    let lib = std::fs::read_to_string(root().join("phase5/workpool/src/lib.rs")).expect("lib.rs");
    let exported = pub_use_names(&lib);
    assert!(exported.len() >= 5, "read too few exports: {exported:?}");
    let indexed: Vec<String> = catalog::read(root())
        .into_iter()
        .flat_map(|e| e.module)
        .filter(|s| s.file.starts_with("phase5/workpool/"))
        .flat_map(|s| s.items)
        .collect();
    let missing: Vec<&String> = exported.iter().filter(|n| !indexed.contains(n)).collect();
    assert!(
        missing.is_empty(),
        "workpool exports types that catalog.tsv's module column does not list: {missing:?}"
    );
}

/// The names of `pub use path::{A, B};` and `pub use path::A;` lines (a statement may span lines).
fn pub_use_names(lib: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = lib;
    while let Some(i) = rest.find("\npub use ") {
        let stmt = &rest[i + 9..];
        let end = stmt.find(';').expect("a `pub use` ends with `;`");
        let body = &stmt[..end];
        let list = match body.split_once('{') {
            Some((_, l)) => l.trim_end_matches('}'),
            None => body.rsplit("::").next().unwrap_or(body),
        };
        names.extend(
            list.split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty() && n.starts_with(char::is_uppercase))
                .map(str::to_string),
        );
        rest = &stmt[end..];
    }
    names
}
