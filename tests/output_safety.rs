//! Output folders never take what fleetsim did not write: a user's folder survives `--out`,
//! `.`, parents of the current folder and `$HOME` are refused, the marker file lets a previous
//! output be replaced, interrupted commands leave no staging folder, stale ones are cleaned up,
//! and a scenario that would write runaway output is refused before it runs.
//!
//! Every folder here is made by the test inside its own fresh folder; the binary is never
//! pointed at a real folder (`/` and the real home are checked on path values, in
//! `report::output`'s unit tests, and with `HOME` set to a test folder below).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::*;
use fleetsim::report::output::MARKER;

const TINY: &str = r#"
name = "tiny"
seed = 5
duration = "6h"
instance_types = ["S5.MEDIUM4"]
[zones.ap-guangzhou-3]
[[workloads]]
name = "web"
arrival = { process = "poisson", rate_per_hour = 4 }
lifetime = { dist = "exponential", mean = "1h" }
types = { "S5.MEDIUM4" = 1 }
zones = { ap-guangzhou-3 = 1 }
[compare]
replications = 1
[[compare.strategies]]
name = "postpaid"
charge_type = "POSTPAID_BY_HOUR"
[[compare.strategies]]
name = "spot"
charge_type = "SPOTPAID"
"#;

/// A scenario that runs for several seconds in a debug build (about a million instances).
const LONG: &str = r#"
name = "long"
seed = 1
duration = "60d"
instance_types = ["S5.MEDIUM4"]
[api]
preset = "unlimited"
[zones.ap-guangzhou-3]
[[workloads]]
name = "web"
arrival = { process = "poisson", rate_per_hour = 1000 }
lifetime = { dist = "exponential", mean = "1h" }
types = { "S5.MEDIUM4" = 1 }
zones = { ap-guangzhou-3 = 1 }
"#;

/// `fleetsim ARGS` run in `cwd`.
fn run_in(cwd: &Path, args: &[&str]) -> Output {
    fleetsim()
        .current_dir(cwd)
        .args(args)
        .output()
        .expect("cannot start fleetsim")
}

/// Names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn staging_left(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.contains(".partial-"))
        .collect()
}

fn assert_refused(o: &Output, needles: &[&str]) {
    assert!(!o.status.success(), "accepted:\n{}", stdout(o));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
    let e = stderr(o);
    assert!(!e.contains("panicked"), "{e}");
    for n in needles {
        assert!(e.contains(n), "no `{n}` in:\n{e}");
    }
}

#[test]
fn a_folder_holding_a_users_file_survives_out() {
    let dir = fresh_dir("safety-users-folder");
    write_file(&dir, "tiny.toml", TINY);
    let important = dir.join("important");
    std::fs::create_dir(&important).unwrap();
    write_file(&important, "notes.txt", "my notes");
    for cmd in [
        vec!["run", "tiny.toml", "--out", "important"],
        vec!["compare", "tiny.toml", "--out", "important"],
        vec!["sweep", "tiny.toml", "--out", "important"],
    ] {
        let o = run_in(&dir, &cmd);
        assert_refused(
            &o,
            &[
                "output folder important",
                "did not write",
                MARKER,
                "untouched",
            ],
        );
        assert_eq!(names(&important), ["notes.txt"], "{cmd:?}");
        assert_eq!(
            std::fs::read_to_string(important.join("notes.txt")).unwrap(),
            "my notes"
        );
        assert!(staging_left(&dir).is_empty(), "{cmd:?}");
    }
    // merge checks its target too (the shard is real; the target is the user's).
    let o = run_in(&dir, &["sweep", "tiny.toml", "--out", "shard", "-q"]);
    assert_ok(&o);
    let o = run_in(&dir, &["merge", "shard", "--out", "important"]);
    assert_refused(&o, &["output folder important", "did not write"]);
    assert_eq!(names(&important), ["notes.txt"]);
}

#[test]
fn out_dot_and_other_names_of_the_current_folder_are_refused() {
    let dir = fresh_dir("safety-dot");
    write_file(&dir, "tiny.toml", TINY);
    std::fs::create_dir(dir.join("sub")).unwrap();
    let before = names(&dir);
    let abs = dir.to_str().unwrap().to_string();
    for out in [".", "./", "sub/..", abs.as_str()] {
        let o = run_in(&dir, &["run", "tiny.toml", "--out", out]);
        assert_refused(&o, &["the current folder"]);
        assert_eq!(names(&dir), before, "--out {out}");
    }
    // Even when the current folder is itself an old output folder: never replaced.
    write_file(&dir, MARKER, "fleetsim");
    let o = run_in(&dir, &["run", "tiny.toml", "--out", "."]);
    assert_refused(&o, &["the current folder"]);
    assert!(dir.join("tiny.toml").is_file());
}

#[test]
fn parents_of_the_current_folder_are_refused() {
    let dir = fresh_dir("safety-parents");
    let cwd = dir.join("a").join("b");
    std::fs::create_dir_all(&cwd).unwrap();
    write_file(&cwd, "tiny.toml", TINY);
    write_file(&dir.join("a"), "keep.txt", "keep");
    let a_abs = dir.join("a");
    for out in ["..", "../", a_abs.to_str().unwrap()] {
        let o = run_in(&cwd, &["run", "tiny.toml", "--out", out]);
        assert_refused(&o, &["a parent of the current folder"]);
        assert_eq!(names(&dir.join("a")), ["b", "keep.txt"], "--out {out}");
        assert_eq!(names(&cwd), ["tiny.toml"], "--out {out}");
    }
    let o = run_in(&cwd, &["run", "tiny.toml", "--out", "../.."]);
    assert_refused(&o, &["a parent of the current folder"]);
    assert_eq!(names(&dir), ["a"]);
}

#[test]
fn home_is_refused_even_with_a_marker() {
    let dir = fresh_dir("safety-home");
    let home = dir.join("home");
    let work = dir.join("work");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    write_file(&work, "tiny.toml", TINY);
    write_file(&home, "dotfile", "mine");
    write_file(&home, MARKER, "fleetsim");
    let o = fleetsim()
        .current_dir(&work)
        .env("HOME", &home)
        .args(["run", "tiny.toml", "--out", "../home"])
        .output()
        .unwrap();
    assert_refused(&o, &["your home folder ($HOME)"]);
    assert_eq!(names(&home), [MARKER, "dotfile"]);
    // A parent of home, away from the current folder.
    let o = fleetsim()
        .current_dir(&work)
        .env("HOME", home.join("inner"))
        .args(["run", "tiny.toml", "--out", "../home"])
        .output()
        .unwrap();
    assert_refused(&o, &["a parent of your home folder"]);
    assert_eq!(names(&home), [MARKER, "dotfile"]);
}

#[test]
fn files_and_links_are_refused() {
    let dir = fresh_dir("safety-file");
    write_file(&dir, "tiny.toml", TINY);
    write_file(&dir, "results", "a file of mine");
    let o = run_in(&dir, &["run", "tiny.toml", "--out", "results"]);
    assert_refused(&o, &["output folder results", "is a file, not a folder"]);
    assert_eq!(
        std::fs::read_to_string(dir.join("results")).unwrap(),
        "a file of mine"
    );
    #[cfg(unix)]
    {
        // A link to a fleetsim folder: the link is not replaced, nor what it points at.
        let o = run_in(&dir, &["run", "tiny.toml", "--out", "real", "-q"]);
        assert_ok(&o);
        std::os::unix::fs::symlink("real", dir.join("link")).unwrap();
        let o = run_in(&dir, &["run", "tiny.toml", "--out", "link"]);
        assert_refused(&o, &["output folder link", "symbolic link"]);
        assert!(dir.join("link").is_symlink());
        assert!(dir.join("real").join("summary.json").is_file());
    }
    assert!(staging_left(&dir).is_empty());
}

#[test]
fn an_empty_folder_is_used_and_an_old_output_is_replaced() {
    let dir = fresh_dir("safety-replace");
    write_file(&dir, "tiny.toml", TINY);
    let out = dir.join("out");
    std::fs::create_dir(&out).unwrap();
    let o = run_in(&dir, &["run", "tiny.toml", "--out", "out", "-q"]);
    assert_ok(&o);
    assert!(out.join("summary.json").is_file());
    let marker = std::fs::read_to_string(out.join(MARKER)).expect("marker in the run folder");
    assert!(marker.contains("written by fleetsim"), "{marker}");
    // Something added to a fleetsim folder goes with it when the folder is replaced.
    write_file(&out, "added-later.txt", "x");
    let o = run_in(
        &dir,
        &["run", "tiny.toml", "--out", "out", "--seed", "9", "-q"],
    );
    assert_ok(&o);
    assert!(!out.join("added-later.txt").exists(), "not replaced whole");
    assert!(out.join(MARKER).is_file());
    assert_eq!(read_summary(&out)["seed"], 9);
    // compare, sweep and merge folders carry the marker too, and are replaced in turn.
    for args in [
        vec!["compare", "tiny.toml", "--out", "cmp", "-q"],
        vec!["compare", "tiny.toml", "--out", "cmp", "-q"],
        vec!["sweep", "tiny.toml", "--shard", "1/2", "--out", "s1", "-q"],
        vec!["sweep", "tiny.toml", "--shard", "2/2", "--out", "s2", "-q"],
        vec!["merge", "s1", "s2", "--out", "merged", "-q"],
        vec!["merge", "s1", "s2", "--out", "merged", "-q"],
    ] {
        let o = run_in(&dir, &args);
        assert_ok(&o);
        let out = args[args.iter().position(|a| *a == "--out").unwrap() + 1];
        assert!(dir.join(out).join(MARKER).is_file(), "{args:?}");
    }
    assert!(staging_left(&dir).is_empty());
}

/// The id of a process that has exited (and been reaped).
fn dead_pid() -> u32 {
    let mut c = Command::new("true").spawn().expect("cannot run `true`");
    let pid = c.id();
    c.wait().unwrap();
    pid
}

#[test]
fn stale_staging_folders_are_removed_and_look_alikes_kept() {
    let dir = fresh_dir("safety-stale");
    write_file(&dir, "tiny.toml", TINY);
    let dead = dead_pid();
    let mut alive = Command::new("sleep").arg("60").spawn().expect("sleep");
    let mk = |name: &str, marker: bool| -> PathBuf {
        let d = dir.join(name);
        std::fs::create_dir(&d).unwrap();
        write_file(&d, "timeseries.csv", "big");
        if marker {
            write_file(&d, MARKER, "fleetsim");
        }
        d
    };
    let stale = mk(&format!(".out.partial-{dead}"), true);
    let no_marker = mk(&format!(".out.partial-{}", dead_pid()), false);
    let running = mk(&format!(".out.partial-{}", alive.id()), true);
    let not_a_pid = mk(".out.partial-12x", true);
    let other_target = mk(&format!(".other.partial-{dead}"), true);
    let o = run_in(&dir, &["run", "tiny.toml", "--out", "out", "-q"]);
    let _ = alive.kill();
    let _ = alive.wait();
    assert_ok(&o);
    assert!(!stale.exists(), "stale staging folder kept");
    for kept in [&no_marker, &running, &not_a_pid, &other_target] {
        assert!(
            kept.join("timeseries.csv").is_file(),
            "{} removed",
            kept.display()
        );
    }
    assert!(dir.join("out").join("summary.json").is_file());
}

/// Waits for `child` to exit, killing it (and failing) after `limit`.
fn wait_for(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("fleetsim did not exit within {limit:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(unix)]
#[test]
fn an_interrupted_command_leaves_no_staging_folder() {
    let dir = fresh_dir("safety-signal");
    write_file(&dir, "long.toml", LONG);
    for (args, signal, code) in [
        (vec!["run", "long.toml", "--out", "out"], "TERM", 143),
        (vec!["run", "long.toml", "--out", "out"], "INT", 130),
        (
            vec!["sweep", "long.toml", "-r", "2", "-j", "1", "--out", "out"],
            "TERM",
            143,
        ),
    ] {
        let mut child = fleetsim()
            .current_dir(&dir)
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("cannot start fleetsim");
        // Wait for the staging folder to appear, then let the run write into it a little.
        let start = Instant::now();
        while staging_left(&dir).is_empty() {
            assert!(
                child.try_wait().unwrap().is_none(),
                "{args:?} finished before it could be interrupted"
            );
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "no staging folder"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(300));
        assert!(
            child.try_wait().unwrap().is_none(),
            "{args:?} finished before it could be interrupted"
        );
        let k = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .expect("kill");
        assert!(k.success());
        let status = wait_for(&mut child, Duration::from_secs(30));
        assert_eq!(status.code(), Some(code), "{args:?} SIG{signal}");
        assert!(
            staging_left(&dir).is_empty(),
            "{args:?} SIG{signal}: {:?}",
            names(&dir)
        );
        assert!(!dir.join("out").exists(), "{args:?}: a result appeared");
    }
}

#[test]
fn runaway_output_is_refused_before_anything_is_written() {
    let dir = fresh_dir("safety-runaway");
    let fine_ms = TINY.replace(
        "duration = \"6h\"",
        "duration = \"2d\"\nsample_interval = \"1ms\"",
    );
    let forever = TINY.replace("duration = \"6h\"", "duration = \"999999d\"");
    write_file(&dir, "fine.toml", &fine_ms);
    write_file(&dir, "forever.toml", &forever);
    write_file(&dir, "tiny.toml", TINY);
    let before = names(&dir);
    for (file, line) in [("fine.toml", 5), ("forever.toml", 4)] {
        let o = run_in(&dir, &["validate", file]);
        assert_refused(
            &o,
            &[
                &format!("{file}:{line}:"),
                "over the limit of 20000000 rows",
                "max_output_rows = N",
                "--set max_output_rows=N",
            ],
        );
        for cmd in ["run", "compare", "sweep"] {
            let o = run_in(&dir, &[cmd, file, "--out", "out"]);
            assert_refused(&o, &["over the limit", "max_output_rows"]);
            assert_eq!(names(&dir), before, "{cmd} {file} wrote something");
        }
    }
    let o = run_in(&dir, &["validate", "fine.toml"]);
    assert!(stderr(&o).contains("172800002 samples"), "{}", stderr(&o));
    // The way out works: a higher limit in the file (or with --set for one run).
    write_file(
        &dir,
        "raised.toml",
        &format!("max_output_rows = 100000000000\n{forever}"),
    );
    assert_ok(&run_in(&dir, &["validate", "raised.toml"]));
    let o = run_in(
        &dir,
        &[
            "run",
            "tiny.toml",
            "--set",
            "max_output_rows=10",
            "--out",
            "out",
        ],
    );
    assert_refused(&o, &["`max_output_rows`", "over the limit of 10 rows"]);
    let mut now = before.clone();
    now.push("raised.toml".into());
    now.sort();
    assert_eq!(names(&dir), now);
}

#[test]
fn every_shipped_scenario_is_well_within_the_default_limit() {
    use fleetsim::scenario::budget::{DEFAULT_MAX_OUTPUT_ROWS, OutputEstimate};
    use fleetsim::scenario::schema::ScenarioFile;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = Vec::new();
    for d in [root.clone(), root.join("lessons")] {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                files.push(p);
            }
        }
    }
    assert!(files.len() >= 16, "{files:?}");
    let mut largest = 0;
    for p in &files {
        let f: ScenarioFile = toml::from_str(&std::fs::read_to_string(p).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let e = OutputEstimate::new(f.duration.0, f.sample_interval.0, f.zones.len());
        assert!(f.max_output_rows.is_none(), "{}", p.display());
        largest = largest.max(e.total());
    }
    // The README says: about 236,000 rows for the largest.
    assert!((230_000..240_000).contains(&largest), "{largest}");
    assert!(largest * 50 < DEFAULT_MAX_OUTPUT_ROWS);
}
