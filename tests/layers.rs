//! The modules' imports run one way: every `crate::x` path in `src/` (and `fleetsim::x` in
//! `main.rs`) is an arrow from the file's top-level module to `x`, and no arrow may go from a
//! lower layer to a higher one, nor close a cycle. The layers, lowest first, are in [`LAYERS`]
//! and drawn in the README's architecture section; a new top-level module must be given one.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first. A module may use modules of its own layer or lower ones.
const LAYERS: &[(&str, &[&str])] = &[
    // Knows nothing of clouds: time, the event queue, random streams, statistics, a job pool.
    ("kernel", &["engine", "stats", "batch"]),
    // The CVM model: catalogue, instances, fleet, control plane, quotas, billing.
    ("cloud", &["cloud"]),
    // Who calls the API, and the specs they run: arrivals, traces, autoscalers, faults, scripts.
    ("workload", &["workload"]),
    // The file: parsed, checked and resolved into the typed data of the layers below.
    ("scenario", &["scenario", "fingerprint"]),
    // Observers (fed by the world) and the files, charts and report written from them.
    ("report", &["report"]),
    // The world: actors and the dispatcher over the control plane.
    ("world", &["world"]),
    // One run: build the world, simulate, write.
    ("run", &["run"]),
    // Many runs: strategies on the same demand, parameter grids.
    ("experiments", &["compare", "sweep"]),
    // The HTTP endpoint over a running simulation.
    ("serve", &["serve"]),
    // The command line and the library's face.
    ("cli", &["cli", "lib", "main"]),
];

/// An arrow: from a module to a module, with a file that draws it.
type Graph = BTreeMap<String, BTreeMap<String, String>>;

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

/// The top-level module a file of `src/` belongs to: `src/cloud/api/mod.rs` → `cloud`,
/// `src/run.rs` → `run`.
fn module_of(rel: &Path) -> String {
    let first = rel
        .components()
        .next()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    first.strip_suffix(".rs").unwrap_or(&first).to_string()
}

/// The text without `//` comments (doc comments included), so that prose naming a module
/// is not an import.
fn code_of(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The top-level modules a file's code names through `root::` (`crate` or `fleetsim`):
/// `root::x::...` and `use root::{x::..., y}`.
fn modules_named(code: &str, root: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let pat = format!("{root}::");
    let mut from = 0;
    while let Some(i) = code[from..].find(&pat) {
        let at = from + i;
        from = at + pat.len();
        // `$crate::`, `my_crate::`: not this crate's root.
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let rest = &code[from..];
        if let Some(group) = rest.strip_prefix('{') {
            // The first name of each item of the group, at the group's top level.
            let mut depth = 0usize;
            let mut item_start = true;
            for (k, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && (c.is_ascii_alphabetic() || c == '_') && depth == 0 => {
                        item_start = false;
                        out.insert(ident_at(&group[k..]).to_string());
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident_at(rest);
            if !name.is_empty() {
                out.insert(name.to_string());
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The arrows between top-level modules drawn by the files of `src`.
fn graph_of(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut g = Graph::new();
    for f in files {
        let rel = f.strip_prefix(src).expect("under src").to_path_buf();
        let from = module_of(&rel);
        let code = code_of(&std::fs::read_to_string(&f).expect("readable source"));
        let mut named = modules_named(&code, "crate");
        if from == "main" {
            named.extend(modules_named(&code, "fleetsim"));
        }
        let arrows = g.entry(from.clone()).or_default();
        for to in named {
            if to != from {
                arrows
                    .entry(to)
                    .or_insert_with(|| format!("src/{}", rel.display()));
            }
        }
    }
    g
}

/// Every arrow that breaks the layering, and every module without a layer.
fn violations(g: &Graph) -> Vec<String> {
    let mut out = Vec::new();
    for (from, arrows) in g {
        let Some(lf) = layer_of(from) else {
            out.push(format!(
                "module `{from}` has no layer: add it to LAYERS in tests/layers.rs and to the \
                 README's picture"
            ));
            continue;
        };
        for (to, file) in arrows {
            match layer_of(to) {
                None => out.push(format!("{file}: `{to}` has no layer")),
                Some(lt) if lt > lf => out.push(format!(
                    "{file}: `{from}` ({}) uses `{to}` ({}), a higher layer",
                    LAYERS[lf].0, LAYERS[lt].0
                )),
                _ => {}
            }
        }
    }
    out
}

/// A cycle of arrows, as the modules along it, if there is one.
fn cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        g: &Graph,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(m) {
            Some(2) => return None,
            Some(1) => {
                let start = path.iter().position(|p| p == m).unwrap_or(0);
                let mut c = path[start..].to_vec();
                c.push(m.to_string());
                return Some(c);
            }
            _ => {}
        }
        state.insert(m.to_string(), 1);
        path.push(m.to_string());
        for to in g.get(m).into_iter().flat_map(|a| a.keys()) {
            if let Some(c) = visit(to, g, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state.insert(m.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in g.keys() {
        if let Some(c) = visit(m, g, &mut state, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

#[test]
fn imports_run_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let g = graph_of(&src);
    // The scan sees the modules it should: a scan that found nothing would pass vacuously.
    for (m, to) in [
        ("cloud", "engine"),
        ("scenario", "workload"),
        ("world", "cloud"),
        ("run", "world"),
    ] {
        assert!(
            g.get(m).is_some_and(|a| a.contains_key(to)),
            "the scan misses `{m}` -> `{to}`: {g:#?}"
        );
    }
    let bad = violations(&g);
    assert!(
        bad.is_empty(),
        "imports against the layers:\n{}",
        bad.join("\n")
    );
    if let Some(c) = cycle(&g) {
        panic!("a cycle of imports: {}", c.join(" -> "));
    }
}

#[test]
fn the_check_catches_an_upward_arrow_and_a_cycle() {
    let mut g = Graph::new();
    g.entry("workload".into())
        .or_default()
        .insert("scenario".into(), "src/workload/mod.rs".into());
    g.entry("scenario".into())
        .or_default()
        .insert("workload".into(), "src/scenario/load.rs".into());
    let bad = violations(&g);
    assert_eq!(
        bad,
        vec![
            "src/workload/mod.rs: `workload` (workload) uses `scenario` (scenario), a higher layer"
                .to_string()
        ]
    );
    let c = cycle(&g).expect("a cycle");
    assert_eq!(c.first(), c.last());
    assert_eq!(c.len(), 3, "{c:?}");
    g.entry("nowhere".into()).or_default();
    assert!(
        violations(&g)
            .iter()
            .any(|v| v.contains("`nowhere` has no layer"))
    );
}

#[test]
fn paths_are_read_from_code_only() {
    let code = code_of(
        "use crate::cloud::{ChargeType, ZoneIdx};\n\
         use crate::{engine::SimTime, workload};\n\
         // crate::report is only named in a comment\n\
         let x = $crate::sweep::f(); let y = other_crate::run::g();\n\
         let z = crate::scenario::load_file(p);",
    );
    let named: Vec<String> = modules_named(&code, "crate").into_iter().collect();
    assert_eq!(named, vec!["cloud", "engine", "scenario", "workload"]);
    assert_eq!(module_of(Path::new("cloud/api/mod.rs")), "cloud");
    assert_eq!(module_of(Path::new("run.rs")), "run");
}

/// Inside `world`, the actors read on their own: an actor's file names only the world's event
/// type, the actor interface (`actor`) and the behaviour the instance holders share
/// (`holder`); never `World`, nor another actor's file. Only `world.rs` (the dispatcher) names
/// them all.
#[test]
fn actors_do_not_reach_each_other_or_the_world() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/world");
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    let allowed = ["Event", "actor", "holder"];
    let mut actors = 0;
    for f in &files {
        let code = code_of(&std::fs::read_to_string(f).expect("readable source"));
        let named = modules_named(&code, "super");
        let bad: Vec<&String> = named
            .iter()
            .filter(|m| !allowed.contains(&m.as_str()))
            .collect();
        assert!(
            bad.is_empty(),
            "{}: names {bad:?} of the world; an actor uses only {allowed:?}",
            f.display()
        );
        assert!(
            !code.contains("World"),
            "{}: an actor does not see the world",
            f.display()
        );
        actors += 1;
    }
    // actor, holder and at least the seven actors.
    assert!(actors >= 9, "the scan found {actors} files under src/world");
}
