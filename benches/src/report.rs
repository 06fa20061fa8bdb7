//! Reading criterion's estimates and turning them into the ratio table.
//!
//! criterion writes, for every benchmark, `<dir>/new/benchmark.json` (its group, function and parameter)
//! and `<dir>/new/estimates.json` (mean, median, …, in nanoseconds per iteration). A *scenario* is a
//! group plus a parameter (`channels/spsc`, `cap=0`); within it every function id starting with `ours`
//! is ours, every other one a peer (see [`crate::is_ours`]). The ratio is our median over the best
//! (fastest) peer's median: below 1.0 we are faster.
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One measured benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Criterion group id, e.g. `channels/spsc`.
    pub group: String,
    /// Function id: the implementation, e.g. `ours`, `crossbeam`.
    pub function: String,
    /// The parameter, e.g. `cap=0` (empty when none).
    pub parameter: String,
    /// Median time per iteration, nanoseconds.
    pub median_ns: f64,
    /// Elements per iteration, when the bench declared a throughput.
    pub elements: Option<u64>,
}

impl Measurement {
    /// Median time per element (per iteration when no throughput was declared).
    pub fn per_element_ns(&self) -> f64 {
        self.median_ns / self.elements.unwrap_or(1).max(1) as f64
    }
}

#[derive(Deserialize)]
struct BenchmarkJson {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
    /// `{"Elements": n}`, `{"Bytes": n}`, `{"ElementsAndBytes": {"elements": n, "bytes": m}}`, …
    throughput: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct EstimatesJson {
    median: EstimateJson,
}

#[derive(Deserialize)]
struct EstimateJson {
    point_estimate: f64,
}

/// Every benchmark found under a criterion output directory (`target/criterion`).
pub fn load(dir: &Path) -> Result<Vec<Measurement>, String> {
    if !dir.is_dir() {
        return Err(format!(
            "no criterion results at {} — run `make bench` (or `cargo bench -p phase1`) first",
            dir.display()
        ));
    }
    let mut files = Vec::new();
    collect_new_dirs(dir, &mut files);
    let mut out = Vec::new();
    for new_dir in files {
        let bench: BenchmarkJson = read_json(&new_dir.join("benchmark.json"))?;
        let est: EstimatesJson = read_json(&new_dir.join("estimates.json"))?;
        let elements = bench.throughput.as_ref().and_then(|t| {
            t.get("Elements").and_then(|n| n.as_u64()).or_else(|| {
                t.get("ElementsAndBytes")
                    .and_then(|e| e.get("elements"))
                    .and_then(|n| n.as_u64())
            })
        });
        out.push(Measurement {
            group: bench.group_id,
            function: bench.function_id.unwrap_or_default(),
            parameter: bench.value_str.unwrap_or_default(),
            median_ns: est.median.point_estimate,
            elements,
        });
    }
    out.sort_by(|a, b| {
        (&a.group, &a.parameter, &a.function).cmp(&(&b.group, &b.parameter, &b.function))
    });
    Ok(out)
}

fn collect_new_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if !p.is_dir() {
            continue;
        }
        if p.file_name().is_some_and(|n| n == "new") && p.join("benchmark.json").is_file() {
            out.push(p);
        } else if p.file_name().is_none_or(|n| n != "report") {
            collect_new_dirs(&p, out);
        }
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, String> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("cannot parse {}: {e}", path.display()))
}

/// One row of the ratio table: one of ours against the best peer of its scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct RatioRow {
    /// `group [parameter]`.
    pub scenario: String,
    /// Our function id.
    pub ours: String,
    /// Our median per element, ns.
    pub ours_ns: f64,
    /// The fastest peer's function id (None when the scenario has no peer).
    pub best_peer: Option<String>,
    /// The fastest peer's median per element, ns.
    pub peer_ns: f64,
}

impl RatioRow {
    /// ours / best peer (NaN without a peer).
    pub fn ratio(&self) -> f64 {
        if self.best_peer.is_some() {
            self.ours_ns / self.peer_ns
        } else {
            f64::NAN
        }
    }
}

fn scenario_name(group: &str, parameter: &str) -> String {
    if parameter.is_empty() {
        group.to_string()
    } else {
        format!("{group} [{parameter}]")
    }
}

/// Pairs every `ours*` measurement with the fastest peer of the same scenario.
pub fn ratios(ms: &[Measurement]) -> Vec<RatioRow> {
    let mut by_scenario: BTreeMap<(String, String), Vec<&Measurement>> = BTreeMap::new();
    for m in ms {
        by_scenario
            .entry((m.group.clone(), m.parameter.clone()))
            .or_default()
            .push(m);
    }
    let mut rows = Vec::new();
    for ((group, parameter), list) in by_scenario {
        let best_peer = list
            .iter()
            .filter(|m| !crate::is_ours(&m.function) && !crate::is_baseline(&m.function))
            .min_by(|a, b| a.per_element_ns().total_cmp(&b.per_element_ns()));
        for ours in list.iter().filter(|m| crate::is_ours(&m.function)) {
            rows.push(RatioRow {
                scenario: scenario_name(&group, &parameter),
                ours: ours.function.clone(),
                ours_ns: ours.per_element_ns(),
                best_peer: best_peer.map(|p| p.function.clone()),
                peer_ns: best_peer.map_or(f64::NAN, |p| p.per_element_ns()),
            });
        }
    }
    rows
}

/// A target an issue set: in `group [parameter]`, `ours / peer` must be at most `max_ratio`. Each
/// crate keeps its own in `benches/targets.toml` ([`TargetFile`]), so a new crate's targets never mean
/// editing this crate.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// What the target is, in words.
    pub label: String,
    /// Criterion group.
    pub group: String,
    /// Parameter (empty, or left out, for none).
    #[serde(default)]
    pub parameter: String,
    /// Our function id.
    pub ours: String,
    /// The peer's function id.
    pub peer: String,
    /// The bound on ours / peer; a like-for-like pair has none (infinity).
    #[serde(default = "no_bound")]
    pub max_ratio: f64,
}

fn no_bound() -> f64 {
    f64::INFINITY
}

/// One crate's `benches/targets.toml`: `[[target]]` entries (with a bound) and `[[pair]]` entries
/// (like-for-like comparisons worth a row of their own, without a bound: the same mechanism ours and
/// std's, where the "best peer" of a scenario may be a different design).
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetFile {
    /// Bounded targets.
    #[serde(default)]
    pub target: Vec<Target>,
    /// Unbounded like-for-like rows.
    #[serde(default)]
    pub pair: Vec<Target>,
}

impl TargetFile {
    /// Parses one file's text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Self, String> {
        let file: TargetFile =
            toml::from_str(text).map_err(|e| format!("{}: {e}", origin.display()))?;
        for t in &file.target {
            if !(t.max_ratio.is_finite() && t.max_ratio > 0.0) {
                return Err(format!(
                    "{}: target \"{}\" needs a positive max_ratio",
                    origin.display(),
                    t.label
                ));
            }
        }
        Ok(file)
    }
}

/// Every `benches/targets.toml` under `root` (the workspace), merged in path order. `target/` and
/// hidden directories are not searched.
pub fn load_targets(root: &Path) -> Result<TargetFile, String> {
    let mut files = Vec::new();
    find_target_files(root, &mut files);
    files.sort();
    let mut all = TargetFile::default();
    for f in files {
        let text = fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        let one = TargetFile::parse(&text, &f)?;
        all.target.extend(one.target);
        all.pair.extend(one.pair);
    }
    Ok(all)
}

fn find_target_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if !path.is_dir() || name.starts_with('.') || name == "target" {
            continue;
        }
        let file = path.join("targets.toml");
        if name == "benches" && file.is_file() {
            out.push(file);
        }
        find_target_files(&path, out);
    }
}

/// A target's outcome: the measured ratio, or None when either side was not measured.
pub fn evaluate(target: &Target, ms: &[Measurement]) -> Option<f64> {
    let find = |f: &str| {
        ms.iter()
            .find(|m| m.group == target.group && m.parameter == target.parameter && m.function == f)
    };
    Some(find(&target.ours)?.per_element_ns() / find(&target.peer)?.per_element_ns())
}

/// What `bench-report --check` looks at: every target whose both sides were measured and whose
/// ratio is over its bound, with the ratio. Targets not measured are not counted as missed (a rerun
/// of one bench leaves the others' estimates unread); the report lists them as "not measured".
pub fn missed<'t>(targets: &'t [Target], ms: &[Measurement]) -> Vec<(&'t Target, f64)> {
    targets
        .iter()
        .filter_map(|t| evaluate(t, ms).map(|r| (t, r)))
        .filter(|(t, r)| *r > t.max_ratio)
        .collect()
}

/// Nanoseconds in the unit that reads best.
pub fn fmt_ns(ns: f64) -> String {
    if !ns.is_finite() {
        "—".into()
    } else if ns < 1e3 {
        format!("{ns:.1} ns")
    } else if ns < 1e6 {
        format!("{:.2} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} s", ns / 1e9)
    }
}

/// The whole report as Markdown.
pub fn markdown(ms: &[Measurement], targets: &TargetFile, header: &str) -> String {
    let mut s = String::new();
    s.push_str("# Benchmarks: ours vs the ecosystem\n\n");
    s.push_str(header);
    s.push_str("\n\nTimes are criterion medians per element (per iteration where a bench declares no throughput). ");
    s.push_str("ratio = ours / fastest peer in the same scenario: below 1.00× we are faster. Regenerate with ");
    s.push_str("`make bench && make bench-report`.\n\n## Targets\n\n| target | ours / peer | measured | bound | |\n|---|---|---|---|---|\n");
    for t in &targets.target {
        match evaluate(t, ms) {
            Some(r) => s.push_str(&format!(
                "| {} | {} / {} | {:.2}× | ≤ {:.2}× | {} |\n",
                t.label,
                t.ours,
                t.peer,
                r,
                t.max_ratio,
                if r <= t.max_ratio { "✓" } else { "✗" }
            )),
            None => s.push_str(&format!(
                "| {} | {} / {} | not measured | ≤ {:.2}× | — |\n",
                t.label, t.ours, t.peer, t.max_ratio
            )),
        }
    }
    s.push_str("\n## Like for like: ours vs std's version of the same mechanism\n\n| comparison | ours / peer | ours | peer | ratio |\n|---|---|---|---|---|\n");
    for t in &targets.pair {
        let find = |f: &str| {
            ms.iter()
                .find(|m| m.group == t.group && m.parameter == t.parameter && m.function == f)
                .map(|m| m.per_element_ns())
        };
        let (o, p) = (find(&t.ours), find(&t.peer));
        s.push_str(&format!(
            "| {} | {} / {} | {} | {} | {} |\n",
            t.label,
            t.ours,
            t.peer,
            o.map_or("not measured".into(), fmt_ns),
            p.map_or("not measured".into(), fmt_ns),
            evaluate(t, ms).map_or("—".into(), |r| format!("{r:.2}×"))
        ));
    }
    s.push_str("\n## Ours vs the best peer, per scenario\n\n| scenario | ours | time | best peer | time | ratio |\n|---|---|---|---|---|---|\n");
    for r in ratios(ms) {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.scenario,
            r.ours,
            fmt_ns(r.ours_ns),
            r.best_peer.as_deref().unwrap_or("—"),
            fmt_ns(r.peer_ns),
            if r.ratio().is_finite() {
                format!("{:.2}×", r.ratio())
            } else {
                "—".into()
            }
        ));
    }
    s.push_str("\n## Every measurement\n\n| group | parameter | implementation | median / element |\n|---|---|---|---|\n");
    for m in ms {
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            m.group,
            if m.parameter.is_empty() {
                "—"
            } else {
                &m.parameter
            },
            m.function,
            fmt_ns(m.per_element_ns())
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(group: &str, function: &str, parameter: &str, ns: f64) -> Measurement {
        Measurement {
            group: group.into(),
            function: function.into(),
            parameter: parameter.into(),
            median_ns: ns,
            elements: None,
        }
    }

    #[test]
    fn pairs_ours_with_the_fastest_peer_of_the_same_scenario() {
        let ms = vec![
            m("channels/spsc", "ours", "cap=0", 300.0),
            m("channels/spsc", "crossbeam", "cap=0", 100.0),
            m("channels/spsc", "std", "cap=0", 150.0),
            m("channels/spsc", "ours", "cap=1", 50.0),
            m("channels/spsc", "crossbeam", "cap=1", 100.0),
        ];
        let rows = ratios(&ms);
        assert_eq!(rows.len(), 2);
        let r0 = rows
            .iter()
            .find(|r| r.scenario.ends_with("[cap=0]"))
            .unwrap();
        assert_eq!(r0.best_peer.as_deref(), Some("crossbeam"));
        assert!((r0.ratio() - 3.0).abs() < 1e-9);
        let r1 = rows
            .iter()
            .find(|r| r.scenario.ends_with("[cap=1]"))
            .unwrap();
        assert!((r1.ratio() - 0.5).abs() < 1e-9);
    }

    fn target(group: &str, ours: &str, peer: &str, max_ratio: f64) -> Target {
        Target {
            label: "t".into(),
            group: group.into(),
            parameter: String::new(),
            ours: ours.into(),
            peer: peer.into(),
            max_ratio,
        }
    }

    #[test]
    fn targets_use_the_named_peer_and_report_missing_data() {
        let ms = vec![
            m("locks/uncontended", "ours-futex", "", 12.0),
            m("locks/uncontended", "std", "", 10.0),
            m("locks/uncontended", "parking_lot", "", 6.0),
        ];
        let t = target("locks/uncontended", "ours-futex", "std", 1.2);
        assert!((evaluate(&t, &ms).unwrap() - 1.2).abs() < 1e-9);
        assert_eq!(evaluate(&target("maps/x", "ours", "std", 1.0), &ms), None);
    }

    #[test]
    fn check_lists_only_measured_targets_over_their_bound() {
        let targets = [
            target("g", "ours", "peer", 1.0),
            target("g", "ours", "peer", 1.5),
            target("unmeasured", "ours", "peer", 0.1),
        ];
        let ms = vec![m("g", "ours", "", 12.0), m("g", "peer", "", 10.0)];
        let missed = missed(&targets, &ms);
        assert_eq!(missed.len(), 1, "only the 1.0 bound is missed at 1.2x");
        assert_eq!(missed[0].0.max_ratio, 1.0);
        assert!((missed[0].1 - 1.2).abs() < 1e-9);
        // On the bound is met.
        let ms = vec![m("g", "ours", "", 10.0), m("g", "peer", "", 10.0)];
        assert!(super::missed(&targets[..1], &ms).is_empty());
    }

    #[test]
    fn target_files_parse_and_bad_ones_name_the_file() {
        let ok = TargetFile::parse(
            "[[target]]\nlabel = \"a\"\ngroup = \"g\"\nours = \"ours\"\npeer = \"p\"\nmax_ratio = 1.5\n\n\
             [[pair]]\nlabel = \"b\"\ngroup = \"g\"\nparameter = \"n=1\"\nours = \"ours\"\npeer = \"std\"\n",
            Path::new("x/benches/targets.toml"),
        )
        .unwrap();
        assert_eq!(
            ok.target,
            vec![Target {
                label: "a".into(),
                peer: "p".into(),
                ..target("g", "ours", "p", 1.5)
            }]
        );
        assert_eq!(ok.pair[0].parameter, "n=1");
        assert!(ok.pair[0].max_ratio.is_infinite());
        let p = Path::new("x/benches/targets.toml");
        let unknown = TargetFile::parse("[[target]]\nlabel = \"a\"\nbound = 1\n", p).unwrap_err();
        assert!(
            unknown.starts_with("x/benches/targets.toml:") && unknown.contains("bound"),
            "{unknown}"
        );
        let unbounded = TargetFile::parse(
            "[[target]]\nlabel = \"a\"\ngroup = \"g\"\nours = \"o\"\npeer = \"p\"\n",
            p,
        )
        .unwrap_err();
        assert!(
            unbounded.contains("needs a positive max_ratio"),
            "{unbounded}"
        );
    }

    #[test]
    fn the_workspace_target_files_load() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let all = load_targets(root).unwrap();
        assert!(all.target.len() >= 20, "phases 1-4 set at least 20 targets");
        assert!(all.target.iter().any(|t| t.group == "locks/uncontended"));
        assert!(all.pair.iter().all(|t| t.max_ratio.is_infinite()));
    }

    #[test]
    fn reads_criterion_output_layout() {
        let dir = std::env::temp_dir().join(format!("benchkit-report-{}", std::process::id()));
        let new = dir.join("channels_spsc/ours/cap=0/new");
        fs::create_dir_all(&new).unwrap();
        fs::write(
            new.join("benchmark.json"),
            r#"{"group_id":"channels/spsc","function_id":"ours","value_str":"cap=0","throughput":{"Elements":1000},"full_id":"x","directory_name":"y","title":"z"}"#,
        )
        .unwrap();
        fs::write(
            new.join("estimates.json"),
            r#"{"mean":{"point_estimate":2.0},"median":{"point_estimate":5000.0}}"#,
        )
        .unwrap();
        let ms = load(&dir).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(ms.len(), 1);
        assert_eq!(ms[0].elements, Some(1000));
        assert!((ms[0].per_element_ns() - 5.0).abs() < 1e-9);
        assert!(load(Path::new("/nonexistent/criterion")).is_err());
    }
}
