//! `fleetsim fit` refuses what it cannot fit, through the CLI: a non-zero exit, a message
//! naming the file, line and column (for CSV content) or the flag, and no workload file left.
//! Line numbers are right for CRLF files too.

mod common;

use common::*;

const HEADER: &str = "vm_id,batch,create_s,lifetime_s,vcpus,memory_gb";

/// Runs `fit` on `csv` (written with `eol` line ends) with `extra` flags; returns stderr after
/// checking the exit status and that `--out` was not written.
fn refused(name: &str, rows: &[&str], eol: &str, extra: &[&str]) -> String {
    let dir = fresh_dir(&format!("fit-errors-{name}"));
    let mut text = String::from(HEADER);
    for r in rows {
        text.push_str(eol);
        text.push_str(r);
    }
    text.push_str(eol);
    let csv = write_file(&dir, "t.csv", &text);
    let out = dir.join("w.toml");
    let mut args: Vec<std::ffi::OsString> = vec!["fit".into(), csv.into_os_string()];
    args.extend(extra.iter().map(|a| a.into()));
    args.push("--out".into());
    args.push(out.clone().into_os_string());
    let o = run_cli(args);
    assert!(!o.status.success(), "{name}: fit succeeded");
    assert!(!out.exists(), "{name}: a workload was written");
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "{name}: {err}");
    err
}

const GOOD: &str = "0,0,1800000,300,1,1.75";

#[test]
fn zero_or_negative_vcpus_are_refused_with_line_and_column() {
    for (v, name) in [("0", "zero"), ("-2", "neg")] {
        let bad = format!("2,2,1800600,300,{v},1.75");
        let err = refused(name, &[GOOD, GOOD, &bad], "\n", &[]);
        assert!(
            err.contains("t.csv:4: column `vcpus`") && err.contains("at least one"),
            "{err}"
        );
    }
}

#[test]
fn lifetimes_past_the_clock_are_refused() {
    let err = refused("neg-life", &[GOOD, "1,1,1800300,-5,1,1.75"], "\n", &[]);
    assert!(
        err.contains("t.csv:3: column `lifetime_s`") && err.contains("negative lifetime"),
        "{err}"
    );
    let err = refused("huge-life", &[GOOD, "1,1,1800300,1e300,1,1.75"], "\n", &[]);
    assert!(
        err.contains("t.csv:3: column `lifetime_s`") && err.contains("past the simulated clock"),
        "{err}"
    );
    let err = refused("huge-created", &[GOOD, "1,1,1e300,300,1,1.75"], "\n", &[]);
    assert!(
        err.contains("t.csv:3: column `create_s`") && err.contains("past the simulated clock"),
        "{err}"
    );
}

#[test]
fn an_end_before_every_creation_is_refused() {
    let err = refused("end", &[GOOD, GOOD], "\n", &["--end", "1799999"]);
    assert!(
        err.contains("--end 1799999 is before every creation") && err.contains("t.csv"),
        "{err}"
    );
    let err = refused("end-nan", &[GOOD, GOOD], "\n", &["--end", "NaN"]);
    assert!(err.contains("--end"), "{err}");
}

#[test]
fn zones_outside_the_catalogue_are_refused() {
    let err = refused(
        "zones",
        &[GOOD, GOOD],
        "\n",
        &["--zones", "ap-guangzhou-99"],
    );
    assert!(
        err.contains("--zones: `ap-guangzhou-99` is not a zone of the catalogue")
            && err.contains("ap-guangzhou-3"),
        "{err}"
    );
}

/// A CRLF trace (as the Azure 2017 one is) gives the same line numbers as an LF one.
#[test]
fn line_numbers_are_right_in_crlf_files() {
    for eol in ["\n", "\r\n"] {
        let bad = "3,3,1800900,300,0,1.75";
        let err = refused(
            if eol == "\n" { "lf" } else { "crlf" },
            &[GOOD, GOOD, GOOD, bad],
            eol,
            &[],
        );
        assert!(err.contains("t.csv:5: column `vcpus`"), "{eol:?}: {err}");
    }
}
