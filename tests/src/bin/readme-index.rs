//! `make index`: writes the root README's index of from-scratch types from `catalog.tsv`'s `module`
//! column (see `harness::catalog`). Refuses to write when an entry does not resolve (its file is
//! missing or does not define the name). `--check` writes nothing and exits 1 when the README's
//! index is not what this would write.
use std::path::Path;
use std::process::ExitCode;

use harness::catalog;

fn main() -> ExitCode {
    let check_only = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--check") => true,
        Some(other) => {
            eprintln!("error: unknown argument `{other}` (usage: readme-index [--check])");
            return ExitCode::from(2);
        }
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the harness crate sits in the workspace root");
    let entries = catalog::read(root);
    let problems = catalog::check_sources(root, &entries);
    if !problems.is_empty() {
        eprintln!(
            "catalog.tsv: {} module entries do not resolve:",
            problems.len()
        );
        for p in &problems {
            eprintln!("  {p}");
        }
        return ExitCode::FAILURE;
    }
    let readme_path = root.join("README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("README.md at the workspace root");
    let index = catalog::render_index(&entries);
    let updated = match catalog::splice(&readme, &index) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let types: usize = entries
        .iter()
        .flat_map(|e| &e.module)
        .map(|s| s.items.len())
        .sum();
    if updated == readme {
        println!("README.md index is up to date ({types} entries)");
        return ExitCode::SUCCESS;
    }
    if check_only {
        eprintln!("README.md index is stale: run `make index`");
        return ExitCode::FAILURE;
    }
    std::fs::write(&readme_path, updated).expect("write README.md");
    println!("README.md index written ({types} entries)");
    ExitCode::SUCCESS
}
