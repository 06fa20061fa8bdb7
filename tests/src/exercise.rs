//! The exercise-binary contract, written once.
//!
//! Every `phaseN/src/bin/exerciseM.rs` hands an [`Exercise`] to [`exercise_main!`](crate::exercise_main)
//! (one line under its doc comment; a binary that also has a mode of its own, such as a child process
//! or a server a test starts, names a [`Before`] hook there too). This module turns that description
//! into the binary every reader can rely on:
//!
//! - no arguments: every section, sized to finish in ≤ 15 s on 2 cores;
//! - `SECTION…`: only those; `--quick`: every workload shrunk for smoke tests (≤ 3 s);
//! - `--json`: the measurements as one JSON document on stdout (the human report is not printed);
//! - `--help`: the sections and options; an unknown section or flag: a one-line error, exit code 2;
//! - each section prints what it shows, its tables of live measurements, a one-line takeaway and its
//!   ✓/✗ self-checks; the process exits 1 when any check fails or a section panics.
//! - a check this run cannot decide (a timing comparison on a loaded machine, say) is *skipped*, never
//!   dropped: [`Ctx::skip`] prints `⚠ SKIPPED label: reason`, lists it under the section's
//!   `"skipped"` in `--json` (with a top-level `"skipped_total"`), and does not change the exit code;
//!   the smoke test prints every one (see [`crate::smoke`]).
//!
//! A section is a plain `fn(&mut Ctx)`. It measures, calls [`Ctx::table`] / [`Ctx::check`] /
//! [`Ctx::skip`] / [`Ctx::takeaway`], and never prints timing it did not measure.
use std::cell::Cell;
use std::fmt::Display;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::Once;
use std::time::{Duration, Instant};

use clap::{CommandFactory, FromArgMatches, Parser};
use comfy_table::{ContentArrangement, Table as Grid, presets::UTF8_FULL_CONDENSED};
use serde_json::{Map, Value, json};

/// One exercise of the catalog: a roadmap topic, split into named sections.
pub struct Exercise {
    /// `phaseN/exerciseM`.
    pub id: &'static str,
    /// The roadmap topic, e.g. "Channels deep dive".
    pub title: &'static str,
    /// The roadmap's goal line: the question this exercise answers.
    pub goal: &'static str,
    /// The Go idea and its Rust counterpart, in two or three sentences.
    pub go_vs_rust: &'static str,
    /// The sections, in the order a run without arguments executes them.
    pub sections: &'static [Section],
}

/// One section of an exercise: one roadmap bullet.
pub struct Section {
    /// The name used on the command line (`-- semantics`).
    pub name: &'static str,
    /// What the section shows, in one line (printed in `--help` and as the section's heading).
    pub summary: &'static str,
    /// The experiment.
    pub run: fn(&mut Ctx),
}

#[derive(Parser, Debug)]
#[command(disable_version_flag = true)]
struct Cli {
    /// Sections to run (default: all, in order).
    #[arg(value_name = "SECTION")]
    sections: Vec<String>,
    /// Shrink every workload (smoke tests; ≤ 3 s per exercise).
    #[arg(long)]
    quick: bool,
    /// Print the measurements as one JSON document instead of the human report.
    #[arg(long)]
    json: bool,
    /// List the sections and exit.
    #[arg(long)]
    list: bool,
}

/// How the running binary was built; printed in every header and in `--json`.
pub fn build_info() -> Value {
    json!({
        "profile": env!("HARNESS_BUILD_PROFILE"),
        "opt_level": env!("HARNESS_OPT_LEVEL"),
        "debug_assertions": cfg!(debug_assertions),
        "rustc": env!("HARNESS_RUSTC_VERSION"),
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
    })
}

/// One line describing the build and the machine, e.g. for README recordings and bench reports.
pub fn build_line() -> String {
    let b = build_info();
    format!(
        "build: {} profile, opt-level {}, debug assertions {} | {} | {} cores, {}-{}",
        b["profile"].as_str().unwrap_or("?"),
        b["opt_level"].as_str().unwrap_or("?"),
        if cfg!(debug_assertions) { "on" } else { "off" },
        b["rustc"].as_str().unwrap_or("?"),
        b["cores"],
        b["os"].as_str().unwrap_or("?"),
        b["arch"].as_str().unwrap_or("?"),
    )
}

/// True when the optimiser was off; every timing printed by such a build is misleading.
pub fn unoptimised() -> bool {
    matches!(env!("HARNESS_OPT_LEVEL"), "0" | "1")
}

/// What a binary's hook decides before the exercise framework sees the command line
/// (`exercise_main!(EXERCISE, before = hook)`, with `hook: fn(Vec<OsString>) -> Before`).
#[derive(Debug)]
pub enum Before {
    /// The hook handled the command line itself (a child process, a server, a subcommand, a bad
    /// flag of its own): exit with this code.
    Exit(ExitCode),
    /// Run the exercise on these arguments (the first is the program name).
    Run(Vec<std::ffi::OsString>),
}

/// Expands to the `main` of an exercise binary: `exercise_main!(EXERCISE)`, or
/// `exercise_main!(EXERCISE, before = hook)` for a binary with a mode of its own (see [`Before`]).
///
/// Under `--cfg loom` (`make loom`) the exercise modules are compiled out, and so is this `main`'s body:
/// the binaries only have to build, because cargo builds them alongside integration tests.
#[macro_export]
macro_rules! exercise_main {
    ($exercise:path) => {
        #[cfg(not(loom))]
        fn main() -> ::std::process::ExitCode {
            $exercise.main()
        }
        #[cfg(loom)]
        fn main() {}
    };
    ($exercise:path, before = $hook:path) => {
        #[cfg(not(loom))]
        fn main() -> ::std::process::ExitCode {
            match $hook(::std::env::args_os().collect()) {
                $crate::exercise::Before::Exit(code) => code,
                $crate::exercise::Before::Run(args) => $exercise.main_from(args),
            }
        }
        #[cfg(loom)]
        fn main() {}
    };
}

impl Exercise {
    /// Parses the command line, runs the chosen sections, prints the report, returns the exit code.
    pub fn main(&self) -> ExitCode {
        self.main_from(std::env::args_os())
    }

    /// [`Exercise::main`] with explicit arguments (the first one is the program name).
    pub fn main_from<I, T>(&self, args: I) -> ExitCode
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut listing = String::from("Sections (run in this order when none is named):\n");
        for s in self.sections {
            listing.push_str(&format!("  {:<14} {}\n", s.name, s.summary));
        }
        listing.push_str(&format!(
            "\nExamples:\n  make run/{id}\n  make run/{id} ARGS='{first} --quick'\n  cargo run -p {phase} --bin {bin} -- {first}",
            id = self.id,
            first = self.sections.first().map(|s| s.name).unwrap_or(""),
            phase = self.id.split('/').next().unwrap_or(""),
            bin = self.id.split('/').nth(1).unwrap_or(""),
        ));
        let command = Cli::command()
            .name(self.id.replace('/', "-"))
            .about(format!(
                "{} — {}\n\nGoal: {}",
                self.id, self.title, self.goal
            ))
            .after_help(listing);
        let cli = match command
            .try_get_matches_from(args)
            .and_then(|m| Cli::from_arg_matches(&m))
        {
            Ok(cli) => cli,
            Err(e) => {
                // clap prints a one-line error with a usage hint (or the help text), never a backtrace.
                let _ = e.print();
                return if e.use_stderr() {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
        };
        if cli.list {
            for s in self.sections {
                println!("{:<14} {}", s.name, s.summary);
            }
            return ExitCode::SUCCESS;
        }
        let mut chosen = Vec::new();
        for name in &cli.sections {
            match self.sections.iter().find(|s| s.name == name.as_str()) {
                Some(s) => chosen.push(s),
                None => {
                    let names: Vec<_> = self.sections.iter().map(|s| s.name).collect();
                    eprintln!(
                        "error: unknown section '{name}' for {} (sections: {})",
                        self.id,
                        names.join(", ")
                    );
                    return ExitCode::from(2);
                }
            }
        }
        if chosen.is_empty() {
            chosen = self.sections.iter().collect();
        }
        install_panic_hook();
        let human = !cli.json;
        let started = Instant::now();
        if human {
            self.print_header(cli.quick);
        }
        let mut reports = Vec::new();
        let mut failed = Vec::new();
        let mut skipped = 0;
        for section in chosen {
            let mut ctx = Ctx::new(section, cli.quick, human);
            if human {
                println!("\n── {} — {} ──", section.name, section.summary);
            }
            let t0 = Instant::now();
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| (section.run)(&mut ctx)));
            if let Err(payload) = outcome {
                let msg = panic_message(&*payload);
                ctx.check_with(
                    "section ran to completion",
                    false,
                    format!("panicked: {msg}"),
                );
            }
            ctx.finish(t0.elapsed());
            if ctx.failed() > 0 {
                failed.push(section.name);
            }
            skipped += ctx.skipped().len();
            reports.push(ctx.into_json(t0.elapsed()));
        }
        let ok = failed.is_empty();
        if human {
            println!();
            let total = started.elapsed();
            let skips = match skipped {
                0 => String::new(),
                n => format!(", ⚠ {n} skipped (see above)"),
            };
            if ok {
                println!(
                    "✓ {}: every self-check passed{skips} ({:.1} s)",
                    self.id,
                    total.as_secs_f64()
                );
            } else {
                println!(
                    "✗ {}: self-checks failed in: {}{skips} ({:.1} s)",
                    self.id,
                    failed.join(", "),
                    total.as_secs_f64()
                );
            }
        } else {
            let doc = self.json_document(cli.quick, reports, ok);
            println!(
                "{}",
                serde_json::to_string_pretty(&doc).expect("JSON of plain values")
            );
        }
        let _ = std::io::stdout().flush();
        if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    }

    /// The `--json` document: the sections' reports, and `skipped_total`, the number of entries in
    /// their `"skipped"` arrays.
    fn json_document(&self, quick: bool, reports: Vec<Value>, ok: bool) -> Value {
        let skipped_total: usize = reports
            .iter()
            .map(|r| r["skipped"].as_array().map_or(0, Vec::len))
            .sum();
        json!({
            "exercise": self.id,
            "title": self.title,
            "build": build_info(),
            "quick": quick,
            "sections": reports,
            "skipped_total": skipped_total,
            "ok": ok,
        })
    }

    fn print_header(&self, quick: bool) {
        let line = format!("━━ {} — {} ━━", self.id, self.title);
        println!("{line}");
        println!("goal: {}", self.goal);
        println!("Go → Rust: {}", self.go_vs_rust);
        println!("{}", build_line());
        if unoptimised() {
            println!(
                "⚠ this build is unoptimised (opt-level {}): every timing below is misleading; use `make run/...`",
                env!("HARNESS_OPT_LEVEL")
            );
        }
        if quick {
            println!("(--quick: workloads shrunk for a smoke run; numbers are noisy)");
        }
    }
}

/// What a section writes into: tables, values, a takeaway, self-checks.
pub struct Ctx {
    section: &'static str,
    quick: bool,
    human: bool,
    tables: Vec<Value>,
    values: Map<String, Value>,
    checks: Vec<(String, bool, String)>,
    /// Checks this run could not decide: (label, reason).
    skipped: Vec<(String, String)>,
    takeaway: Option<String>,
}

impl Ctx {
    fn new(section: &Section, quick: bool, human: bool) -> Self {
        Ctx {
            section: section.name,
            quick,
            human,
            tables: Vec::new(),
            values: Map::new(),
            checks: Vec::new(),
            skipped: Vec::new(),
            takeaway: None,
        }
    }

    /// A context for unit tests of a section: quick, silent.
    pub fn for_test(section: &'static str) -> Self {
        Ctx {
            section,
            quick: true,
            human: false,
            tables: Vec::new(),
            values: Map::new(),
            checks: Vec::new(),
            skipped: Vec::new(),
            takeaway: None,
        }
    }

    /// True under `--quick`.
    pub fn quick(&self) -> bool {
        self.quick
    }

    /// `full` normally, `quick` under `--quick`.
    pub fn pick<T>(&self, full: T, quick: T) -> T {
        if self.quick { quick } else { full }
    }

    /// The section's name.
    pub fn section(&self) -> &'static str {
        self.section
    }

    /// Prints an explanatory paragraph (human report only).
    pub fn say(&mut self, text: impl Display) {
        if self.human {
            println!("{text}");
        }
    }

    /// Starts a table; add rows with [`TableBuilder::row`] and print it with [`Ctx::show`].
    pub fn table(&self, title: impl Into<String>, headers: &[&str]) -> TableBuilder {
        TableBuilder {
            title: title.into(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Prints a finished table and records it for `--json`.
    pub fn show(&mut self, table: TableBuilder) {
        if self.human {
            let mut grid = Grid::new();
            grid.load_preset(UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_header(&table.headers);
            for r in &table.rows {
                grid.add_row(r);
            }
            if !table.title.is_empty() {
                println!("{}", table.title);
            }
            println!("{grid}");
        }
        let rows: Vec<Value> = table
            .rows
            .iter()
            .map(|r| {
                let mut m = Map::new();
                for (h, c) in table.headers.iter().zip(r) {
                    m.insert(h.clone(), Value::String(c.clone()));
                }
                Value::Object(m)
            })
            .collect();
        self.tables
            .push(json!({"title": table.title, "rows": rows}));
    }

    /// Records a raw measurement for `--json` (tables carry the formatted ones).
    pub fn record(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        self.values.insert(key.into(), value.into());
    }

    /// The one-line lesson of the section, drawn from what was measured.
    pub fn takeaway(&mut self, text: impl Into<String>) {
        self.takeaway = Some(text.into());
    }

    /// A self-check: ✓ when `ok`. A failed check makes the process exit 1.
    pub fn check(&mut self, label: impl Into<String>, ok: bool) -> bool {
        self.check_with(label, ok, String::new())
    }

    /// A self-check with the measured detail that decided it.
    pub fn check_with(
        &mut self,
        label: impl Into<String>,
        ok: bool,
        detail: impl Into<String>,
    ) -> bool {
        self.checks.push((label.into(), ok, detail.into()));
        ok
    }

    /// A self-check this run cannot decide, reported instead of dropped: the human report prints
    /// `⚠ SKIPPED label: reason`, `--json` lists `{"label", "reason"}` under the section's `"skipped"`
    /// (and counts it in the top-level `"skipped_total"`), the smoke test prints it. It does not fail
    /// the run. Use it only where the reason is the machine, not the code (e.g. a timing comparison
    /// when the workers got too little CPU), and say in `reason` what was measured.
    pub fn skip(&mut self, label: impl Into<String>, reason: impl Into<String>) {
        self.skipped.push((label.into(), reason.into()));
    }

    /// The checks skipped so far: (label, reason).
    pub fn skipped(&self) -> &[(String, String)] {
        &self.skipped
    }

    /// How many checks failed so far.
    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| !c.1).count()
    }

    /// The checks recorded so far: (label, ok, detail).
    pub fn checks(&self) -> &[(String, bool, String)] {
        &self.checks
    }

    /// The recorded values (for tests of a section).
    pub fn values(&self) -> &Map<String, Value> {
        &self.values
    }

    fn finish(&mut self, elapsed: Duration) {
        if !self.human {
            return;
        }
        if let Some(t) = &self.takeaway {
            println!("⇒ {t}");
        }
        for (label, ok, detail) in &self.checks {
            let mark = if *ok { "✓" } else { "✗" };
            if detail.is_empty() {
                println!("  {mark} {label}");
            } else {
                println!("  {mark} {label} ({detail})");
            }
        }
        for (label, reason) in &self.skipped {
            println!("  ⚠ SKIPPED {label}: {reason}");
        }
        println!("  ({} in {:.2} s)", self.section, elapsed.as_secs_f64());
    }

    fn into_json(self, elapsed: Duration) -> Value {
        let checks: Vec<Value> = self
            .checks
            .into_iter()
            .map(|(label, ok, detail)| json!({"label": label, "ok": ok, "detail": detail}))
            .collect();
        let skipped: Vec<Value> = self
            .skipped
            .into_iter()
            .map(|(label, reason)| json!({"label": label, "reason": reason}))
            .collect();
        json!({
            "name": self.section,
            "elapsed_s": elapsed.as_secs_f64(),
            "tables": self.tables,
            "values": self.values,
            "takeaway": self.takeaway,
            "checks": checks,
            "skipped": skipped,
        })
    }
}

/// A table being filled; see [`Ctx::table`].
pub struct TableBuilder {
    title: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl TableBuilder {
    /// Adds a row; each cell is anything `Display`.
    pub fn row<I, C>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = C>,
        C: Display,
    {
        self.rows
            .push(cells.into_iter().map(|c| c.to_string()).collect());
        self
    }

    /// Number of rows so far.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

thread_local! {
    static EXPECTING_PANIC: Cell<bool> = const { Cell::new(false) };
}

static HOOK: Once = Once::new();

/// Installs (once) a panic hook that stays quiet for panics a demo provoked on purpose
/// (see [`expect_panic`]) and prints every other panic as usual.
pub fn install_panic_hook() {
    HOOK.call_once(|| {
        let default = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !EXPECTING_PANIC.with(Cell::get) {
                default(info);
            }
        }));
    });
}

/// Runs `f`, catching a panic it raises on purpose (a poisoning demo, say) without printing it.
/// Returns the panic's message as the error.
pub fn expect_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_panic_hook();
    let was = EXPECTING_PANIC.with(|e| e.replace(true));
    let out = panic::catch_unwind(AssertUnwindSafe(f));
    EXPECTING_PANIC.with(|e| e.set(was));
    out.map_err(|p| panic_message(&*p))
}

pub use shim::panic_message;

#[cfg(test)]
mod tests {
    use super::*;

    fn passing(ctx: &mut Ctx) {
        let mut t = ctx.table("t", &["a", "b"]);
        t.row([1, 2]);
        ctx.show(t);
        ctx.check("fine", true);
    }
    fn failing(ctx: &mut Ctx) {
        ctx.check("broken", false);
    }
    fn panicking(_: &mut Ctx) {
        panic!("boom");
    }
    fn skipping(ctx: &mut Ctx) {
        ctx.check("decided", true);
        ctx.skip("timing", "the workers got 40% of a core");
    }

    static EX: Exercise = Exercise {
        id: "phase0/exercise0",
        title: "test",
        goal: "g",
        go_vs_rust: "x",
        sections: &[
            Section {
                name: "pass",
                summary: "passes",
                run: passing,
            },
            Section {
                name: "fail",
                summary: "fails",
                run: failing,
            },
            Section {
                name: "panic",
                summary: "panics",
                run: panicking,
            },
            Section {
                name: "skip",
                summary: "skips a check",
                run: skipping,
            },
        ],
    };

    fn code(args: &[&str]) -> ExitCode {
        let mut v = vec!["ex"];
        v.extend_from_slice(args);
        EX.main_from(v)
    }

    #[test]
    fn exit_codes_follow_checks() {
        assert_eq!(code(&["pass", "--json"]), ExitCode::SUCCESS);
        assert_eq!(code(&["fail", "--json"]), ExitCode::from(1));
        assert_eq!(code(&["nope"]), ExitCode::from(2));
        assert_eq!(code(&["--frobnicate"]), ExitCode::from(2));
        assert_eq!(code(&["--help"]), ExitCode::SUCCESS);
    }

    #[test]
    fn a_panicking_section_is_a_failed_check() {
        assert_eq!(
            expect_panic(|| code(&["panic", "--json"])),
            Ok(ExitCode::from(1))
        );
    }

    #[test]
    fn a_skipped_check_is_reported_and_does_not_fail() {
        assert_eq!(code(&["skip", "--json"]), ExitCode::SUCCESS);
        assert_eq!(code(&["skip"]), ExitCode::SUCCESS);
        let mut ctx = Ctx::for_test("skip");
        skipping(&mut ctx);
        assert_eq!(ctx.failed(), 0);
        assert_eq!(
            ctx.skipped(),
            [(
                "timing".to_string(),
                "the workers got 40% of a core".to_string()
            )]
        );
        let section = ctx.into_json(Duration::ZERO);
        assert_eq!(
            section["skipped"],
            json!([{"label": "timing", "reason": "the workers got 40% of a core"}])
        );
        assert_eq!(section["checks"].as_array().map(Vec::len), Some(1));
        let mut quiet = Ctx::for_test("pass");
        passing(&mut quiet);
        let doc = EX.json_document(
            true,
            vec![section.clone(), quiet.into_json(Duration::ZERO), section],
            true,
        );
        assert_eq!(doc["skipped_total"], 2);
        assert_eq!(doc["sections"][1]["skipped"], json!([]));
    }

    #[test]
    fn expect_panic_returns_the_message() {
        assert_eq!(
            expect_panic(|| panic!("on purpose")),
            Err::<(), _>("on purpose".to_string())
        );
    }
}
