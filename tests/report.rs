//! The charts and `report.html` of a run folder: every chart as SVG (title with scenario and
//! seed, axis labels) and PNG, one self-contained page that fetches nothing and shows the
//! summary and every chart, escaping what it shows; and the same run giving the same files.
//! Also: `--quiet` prints nothing, and no progress bar appears when stderr is not a terminal.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// A small scenario that hits a postpaid quota, a spot quota and the rate limiter, with all
/// three charge types, and a name that needs escaping in HTML and SVG.
const SCN: &str = r#"
name = "tiny & <small>"
seed = 3
duration = "12h"
sample_interval = "15m"
description = "Report test: quotas, throttling & three charge types."
instance_types = ["S5.MEDIUM4", "S5.LARGE8"]

[api]
limits = { RunInstances = "5/1m" }
retry = { max_attempts = 2, base_delay = "1s", max_delay = "5s" }

[zones.ap-guangzhou-3]
quota = { postpaid = 8, spot_cores = 16 }
[zones.ap-shanghai-2]

[[workloads]]
name = "storm"
arrival = { process = "poisson", rate_per_hour = 400 }
lifetime = { dist = "fixed", value = "10m" }
types = { "S5.MEDIUM4" = 1 }
zones = { ap-guangzhou-3 = 3, ap-shanghai-2 = 1 }

[[workloads]]
name = "batch"
charge_type = "SPOTPAID"
arrival = { process = "poisson", rate_per_hour = 6 }
lifetime = { dist = "exponential", mean = "2h" }
types = { "S5.LARGE8" = 1 }
zones = { ap-guangzhou-3 = 1 }
instances_per_request = 2

[[workloads]]
name = "base"
charge_type = "PREPAID"
arrival = { process = "poisson", rate_per_hour = 1 }
lifetime = { dist = "exponential", mean = "20h" }
types = { "S5.LARGE8" = 1 }
zones = { ap-shanghai-2 = 1 }
"#;

const NAME_ESCAPED: &str = "tiny &amp; &lt;small&gt;";
const SEED: u64 = 5;

/// Charts every run folder has, with their y axis labels.
const CHARTS: [(&str, &str); 5] = [
    ("fleet_by_state", "Instances (count)"),
    ("fleet_by_zone", "Instances, any state (count)"),
    ("vcpus_vs_quota", "vCPUs (cores)"),
    ("instances_vs_quota", "Instances against quota (count)"),
    ("api_calls", "API calls per 15m (count)"),
];
/// Drawn only when the run folder has `costs.csv`.
const COST_CHART: (&str, &str) = ("cost_by_charge_type", "Cumulative cost (CNY)");
const HOURLY_COST_CHART: (&str, &str) = ("cost_per_hour", "Cost per hour (CNY)");
const ACCRUED_COST_CHART: (&str, &str) = ("cost_accrued_per_hour", "Cost per hour (CNY)");

const PNG_MAGIC: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];

/// A fresh folder for this test binary, removed at the end unless a test failed.
struct TestDir(PathBuf);

impl TestDir {
    fn new(tag: &str) -> Self {
        let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("fleetsim-tests")
            .join(format!("report-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("cannot create a test folder");
        TestDir(d)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Runs `fleetsim run <scn> --out <out> --seed 5 --quiet` and checks it printed nothing.
fn run_quiet(scn: &Path, out: &Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .arg("run")
        .arg(scn)
        .arg("--out")
        .arg(out)
        .args(["--seed", &SEED.to_string(), "--quiet"])
        .output()
        .expect("cannot start fleetsim");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(
        o.status.success(),
        "fleetsim failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.is_empty(), "--quiet printed on stdout:\n{stdout}");
    assert!(
        stderr.is_empty(),
        "stderr is not a terminal, yet something (a progress bar?) was printed:\n{stderr}"
    );
}

/// The text of every `<text>` element of an SVG, trimmed (still escaped).
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|rest| {
            let start = rest.find('>')? + 1;
            let end = rest.find("</text>")?;
            Some(rest[start..end].trim().to_string())
        })
        .collect()
}

fn check_chart(dir: &Path, stem: &str, y_label: &str) {
    let svg_path = dir.join(format!("{stem}.svg"));
    let svg = std::fs::read_to_string(&svg_path)
        .unwrap_or_else(|e| panic!("{}: {e}", svg_path.display()));
    assert!(
        svg.starts_with("<svg") || svg.starts_with("<?xml"),
        "{stem}.svg is not an SVG"
    );
    assert!(
        svg.trim_end().ends_with("</svg>"),
        "{stem}.svg is truncated"
    );
    let texts = svg_texts(&svg);
    let title_start = format!("{NAME_ESCAPED} (seed {SEED}): ");
    assert!(
        texts.iter().any(|t| t.starts_with(&title_start)),
        "{stem}.svg: no title naming the scenario and seed in {texts:?}"
    );
    assert!(
        texts.iter().any(|t| t == "Simulated time (hours)"),
        "{stem}.svg: no x axis label in {texts:?}"
    );
    assert!(
        texts.iter().any(|t| t == y_label),
        "{stem}.svg: no y axis label `{y_label}` in {texts:?}"
    );
    let png_path = dir.join(format!("{stem}.png"));
    let png = std::fs::read(&png_path).unwrap_or_else(|e| panic!("{}: {e}", png_path.display()));
    assert!(png.starts_with(&PNG_MAGIC), "{stem}.png is not a PNG");
    assert!(
        png.len() > 5 * 1024,
        "{stem}.png is only {} bytes",
        png.len()
    );
}

/// Every value of a `src=`, `href=` or CSS `url(` in the page.
fn references(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=", "href=", "url("] {
        for (i, _) in html.match_indices(attr) {
            let rest = html[i + attr.len()..].trim_start_matches(['"', '\'']);
            let end = rest.find(['"', '\'', ')', ' ', '>']).unwrap_or(rest.len());
            out.push(rest[..end].to_string());
        }
    }
    out
}

#[test]
fn charts_and_report_html() {
    let base = TestDir::new("charts");
    let scn = base.0.join("tiny.toml");
    std::fs::write(&scn, SCN).unwrap();
    let out = base.0.join("run");
    run_quiet(&scn, &out);

    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["seed"], SEED);
    assert!(
        summary["api_calls_throttled"].as_u64().unwrap() > 0,
        "the scenario should be throttled: {summary}"
    );

    // Charts.
    let has_costs = out.join("costs.csv").is_file();
    let mut charts: Vec<(&str, &str)> = CHARTS.to_vec();
    if has_costs {
        charts.push(HOURLY_COST_CHART);
        charts.push(ACCRUED_COST_CHART);
        charts.push(COST_CHART);
        check_accrued_sums(&out, &summary);
    } else {
        assert!(
            !out.join("cost_by_charge_type.svg").exists(),
            "a cost chart without costs.csv"
        );
    }
    for (stem, y_label) in &charts {
        check_chart(&out, stem, y_label);
    }
    let quota_svg = std::fs::read_to_string(out.join("instances_vs_quota.svg")).unwrap();
    let texts = svg_texts(&quota_svg);
    for legend in [
        "ap-guangzhou-3 postpaid used",
        "ap-guangzhou-3 postpaid quota",
    ] {
        assert!(texts.iter().any(|t| t == legend), "{legend} in {texts:?}");
    }
    let vcpu_svg = std::fs::read_to_string(out.join("vcpus_vs_quota.svg")).unwrap();
    let texts = svg_texts(&vcpu_svg);
    for legend in [
        "ap-guangzhou-3 vCPUs in use",
        "ap-shanghai-2 vCPUs (spot quota unlimited)",
        "ap-guangzhou-3 spot vCPU quota",
    ] {
        assert!(texts.iter().any(|t| t == legend), "{legend} in {texts:?}");
    }

    // The page.
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    for r in references(&html) {
        let lower = r.to_ascii_lowercase();
        assert!(
            !(lower.starts_with("http:") || lower.starts_with("https:") || lower.starts_with("//")),
            "report.html fetches {r}"
        );
    }
    for tag in [
        "<script src",
        "<link",
        "<iframe",
        "@import",
        "fetch(",
        "XMLHttpRequest",
    ] {
        assert!(!html.contains(tag), "report.html has {tag}");
    }
    // Interactive charts: uPlot inlined, one chart's data per figure.
    assert!(html.contains("uPlot"), "uPlot is not inlined");
    assert_eq!(
        html.matches("<script type=\"application/json\">").count(),
        charts.len(),
        "chart data in report.html"
    );
    // Escaped everywhere: the raw name never appears.
    assert!(!html.contains("<small>"), "unescaped scenario name");
    assert!(html.contains(&format!("<h1>{NAME_ESCAPED} ")), "heading");
    assert!(html.contains("quotas, throttling &amp; three charge types."));
    // The summary figures, by key.
    for key in [
        "instances_created",
        "instances_terminated",
        "instances_alive_at_end",
        "instances_launch_failed",
        "requests_refused",
        "api_calls_total",
        "api_calls_throttled",
        "api_give_ups",
        "cost_total",
        "mean_instances_alive",
        "peak_instances_alive",
        "events_processed",
    ] {
        let want = summary[key].as_f64().unwrap();
        let marker = format!("data-key=\"{key}\" data-value=\"");
        let at = html
            .find(&marker)
            .unwrap_or_else(|| panic!("report.html does not show {key}"))
            + marker.len();
        let shown: f64 = html[at..at + html[at..].find('"').unwrap()]
            .parse()
            .unwrap();
        assert_eq!(shown, want, "{key}");
    }
    // Tables.
    for needle in [
        "RequestLimitExceeded",
        "Quota peaks",
        "POSTPAID_BY_HOUR",
        "SPOTPAID",
        "PREPAID",
        "ap-guangzhou-3",
        "ap-shanghai-2",
        "storm",
        "batch",
        "base",
        "S5.LARGE8",
        "poisson",
    ] {
        assert!(html.contains(needle), "report.html has no {needle}");
    }
    // One inline chart per chart file, each in its figure.
    let svg_files = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "svg")
        })
        .count();
    assert_eq!(svg_files, charts.len(), "chart files in the run folder");
    assert_eq!(
        html.matches("<svg").count() + html.matches("<img").count(),
        charts.len(),
        "charts in report.html"
    );
    for (stem, _) in &charts {
        assert!(
            html.contains(&format!("<figure id=\"{stem}\" data-chart>")),
            "no figure {stem}"
        );
    }
    // Wall-clock figures stay out of the page, so that the same run gives the same page.
    assert!(!html.contains("wall_seconds\" data-value"));

    // The same run into another folder: byte-identical charts and page.
    let again = base.0.join("again");
    run_quiet(&scn, &again);
    let mut compared = 0;
    for e in std::fs::read_dir(&out).unwrap() {
        let name = e.unwrap().file_name();
        let n = name.to_string_lossy();
        if n.ends_with(".svg") || n.ends_with(".png") || n.ends_with(".html") {
            assert!(
                std::fs::read(out.join(&name)).unwrap()
                    == std::fs::read(again.join(&name)).unwrap(),
                "{n} differs between identical runs"
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 2 * charts.len() + 1);
}

/// The sum of a cost file's `cost` column, and of its rows starting at or after `from_s`.
fn cost_sums(path: &Path, from_s: f64) -> (f64, f64) {
    let text = std::fs::read_to_string(path).expect("cost file");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("hour_start_s,zone,charge_type,cost"));
    let (mut all, mut after) = (0.0, 0.0);
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        let v: f64 = f[3].parse().unwrap();
        all += v;
        if f[0].parse::<f64>().unwrap() >= from_s {
            after += v;
        }
    }
    (all, after)
}

/// costs_accrued.csv adds up to the run's cost_total, as costs.csv does, and its rows after the
/// run hold what summary.json computes on its own as prepaid bought beyond the horizon.
fn check_accrued_sums(out: &Path, summary: &Value) {
    let total = summary["cost_total"].as_f64().unwrap();
    let unused = summary["cost_prepaid_unused"].as_f64().unwrap();
    let end = summary["duration_s"].as_f64().unwrap();
    let (cash, cash_after) = cost_sums(&out.join("costs.csv"), end);
    let (accrued, beyond) = cost_sums(&out.join("costs_accrued.csv"), end);
    assert!((cash - total).abs() < 1e-4, "costs.csv {cash} vs {total}");
    assert_eq!(cash_after, 0.0, "costs.csv has no row after the run");
    assert!(
        (accrued - total).abs() < 1e-4,
        "costs_accrued.csv {accrued} vs {total}"
    );
    assert!(
        unused > 0.0,
        "the scenario should leave prepaid time beyond the run"
    );
    assert!(
        (beyond - unused).abs() < 1e-4,
        "beyond {beyond} vs {unused}"
    );
}

/// Two strategies on the same small demand, two replications each.
const COMPARE_SCN: &str = r#"
name = "cmp & co"
seed = 3
duration = "2d"
instance_types = ["SA2.MEDIUM4"]
[zones.ap-guangzhou-3]
[[workloads]]
name = "batch"
arrival = { process = "poisson", rate_per_hour = 4 }
lifetime = { dist = "exponential", mean = "3h" }
types = { "SA2.MEDIUM4" = 1 }
zones = { ap-guangzhou-3 = 1 }
[compare]
replications = 2
[[compare.strategies]]
name = "postpaid"
charge_type = "POSTPAID_BY_HOUR"
[[compare.strategies]]
name = "spot-fallback"
charge_type = "SPOTPAID"
fallback = "POSTPAID_BY_HOUR"
"#;

fn fleetsim(args: &[&str]) {
    let res = Command::new(env!("CARGO_BIN_EXE_fleetsim"))
        .args(args)
        .output()
        .expect("cannot start fleetsim");
    assert!(
        res.status.success(),
        "fleetsim {args:?}: {}",
        String::from_utf8_lossy(&res.stderr)
    );
}

/// A self-contained page: no reference leaves the folder, no script is loaded.
fn assert_self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    for r in references(html) {
        let lower = r.to_ascii_lowercase();
        assert!(
            !(lower.starts_with("http:") || lower.starts_with("https:") || lower.starts_with("//")),
            "report.html fetches {r}"
        );
    }
    for tag in [
        "<script src",
        "<link",
        "<iframe",
        "@import",
        "fetch(",
        "XMLHttpRequest",
    ] {
        assert!(!html.contains(tag), "report.html has {tag}");
    }
}

/// `compare` and `sweep` write a report.html of their own: the findings name the cheapest
/// strategy that compare_summary.csv holds, the ranking and break-even tables are there, and
/// a sweep has one chart per metric.
#[test]
fn compare_and_sweep_report_html() {
    let base = TestDir::new("study");
    let scn = base.0.join("cmp.toml");
    std::fs::write(&scn, COMPARE_SCN).unwrap();
    let out = base.0.join("compare");
    fleetsim(&[
        "compare",
        scn.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    let html = std::fs::read_to_string(out.join("report.html")).expect("compare report.html");
    assert_self_contained(&html);
    assert!(html.contains("<h1>cmp &amp; co "), "escaped name");
    // The cheapest strategy by compare_summary.csv's cost_mean.
    let summary = std::fs::read_to_string(out.join("compare_summary.csv")).unwrap();
    let cheapest = summary
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[2].parse::<f64>().unwrap(), f[0].to_string())
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap()
        .1;
    assert!(
        html.contains(&format!(
            "<li data-finding=\"cheapest\">{cheapest} is the cheapest strategy"
        )),
        "cheapest {cheapest} not found"
    );
    for needle in [
        "<section id=\"ranking\">",
        "<section id=\"paired\">",
        "<section id=\"breakeven\">",
        "<td>SA2.MEDIUM4</td>",
        "<td>postpaid</td>",
        "<td>spot-fallback</td>",
    ] {
        assert!(html.contains(needle), "compare report.html has no {needle}");
    }
    assert_eq!(
        html.matches("<script type=\"application/json\">").count(),
        2
    );

    let sweep = base.0.join("sweep");
    fleetsim(&[
        "sweep",
        scn.to_str().unwrap(),
        "--set",
        "workloads.0.arrival.rate_per_hour=2,8",
        "-r",
        "2",
        "--out",
        sweep.to_str().unwrap(),
        "--quiet",
    ]);
    let html = std::fs::read_to_string(sweep.join("report.html")).expect("sweep report.html");
    assert_self_contained(&html);
    assert!(html.contains("<li data-finding=\"cost\">"), "cost finding");
    assert!(html.contains("workloads.0.arrival.rate_per_hour=8"));
    // One chart per metric of sweep_summary.csv.
    let metrics: std::collections::BTreeSet<String> =
        std::fs::read_to_string(sweep.join("sweep_summary.csv"))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(2).unwrap().to_string())
            .collect();
    assert_eq!(
        html.matches("<script type=\"application/json\">").count(),
        metrics.len()
    );
    for m in &metrics {
        assert!(
            html.contains(&format!("<figure id=\"sweep_{m}\" data-chart>")),
            "{m}"
        );
    }
}
