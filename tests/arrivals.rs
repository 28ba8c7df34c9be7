//! Realistic demand, checked against facts computed here independently of the sampler:
//!
//! - a profiled non-homogeneous Poisson process: the count in each hour of the week, summed over
//!   many weeks, is Poisson with mean `weeks × base × daily[h] × weekly[d]` (chi-square);
//! - growth: month by month counts follow `∫ base (1 + g)^(t / 30 d) dt`; a step multiplies the
//!   count after it by its factor;
//! - bursts (a Markov-modulated Poisson process): the long-run rate is
//!   `base × (1 + (factor − 1)·on/(on + off))` and the variance of a window's count is the
//!   Cox-process formula;
//! - batch sizes: sample mean and frequencies against the law's own pmf;
//! - lifetimes from a file, from a quantile list and per instance type: sample mean against
//!   the exact mean, and the whole sample CDF against the configured CDF (DKW bound);
//! - common random numbers: adding a burst, growth and batches to workload B leaves workload A's
//!   instances (creation times, types, zones) unchanged.
//!
//! Every statistical check has a stated false-alarm rate (at most 1e-6 per check, with
//! the fixed seeds below); they are deterministic, so a failure is a real regression.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use fleetsim::engine::{RngStreams, SimTime};
use fleetsim::scenario::parse_scenario;
use fleetsim::workload::{Demand, Workload};

const HOUR: f64 = 3_600_000.0;
const DAY: f64 = 24.0 * HOUR;

/// One-sided standard normal quantile for a false-alarm rate of 1e-6.
const Z_1E6: f64 = 4.753_424;

/// Upper 1e-6 critical value of a chi-square with `k` degrees of freedom (Wilson–Hilferty;
/// accurate to well under 1% for k >= 6).
fn chi2_crit(k: usize) -> f64 {
    let k = k as f64;
    let a = 2.0 / (9.0 * k);
    k * (1.0 - a + Z_1E6 * a.sqrt()).powi(3)
}

/// Pearson's statistic of observed counts against expected means.
fn chi2(observed: &[f64], expected: &[f64]) -> f64 {
    let x = observed
        .iter()
        .zip(expected)
        .filter(|(_, e)| **e > 0.0)
        .map(|(o, e)| (o - e).powi(2) / e)
        .sum();
    eprintln!("chi-square {x:.1} on {} cells", observed.len());
    x
}

/// A scenario with one workload whose arrival is the `[workloads.arrival]` table given.
fn one_workload(duration: &str, arrival: &str, extra: &str) -> String {
    format!(
        r#"name = "arrivals"
seed = 5
duration = "{duration}"
instance_types = ["S5.MEDIUM4", "S5.LARGE8"]

[zones.ap-guangzhou-3]

[[workloads]]
name = "w"
lifetime = {{ dist = "exponential", mean = "1h" }}
types = {{ "S5.MEDIUM4" = 1 }}
zones = {{ ap-guangzhou-3 = 1 }}
{extra}
[workloads.arrival]
{arrival}
"#
    )
}

/// The workload of a scenario (its first), started from `seed`.
fn workload(text: &str, seed: u64) -> (Workload, f64) {
    let scn = scenario(text);
    let horizon = scn.duration.ms() as f64;
    let w = Workload::new(scn.workloads[0].clone(), &RngStreams::new(seed));
    (w, horizon)
}

/// Every arrival time (ms) before the end of the run.
fn arrival_times(text: &str, seed: u64) -> Vec<f64> {
    let (mut w, horizon) = workload(text, seed);
    let mut now = SimTime::ZERO;
    let mut out = Vec::new();
    loop {
        now = w.next_arrival(now);
        if now.ms() as f64 >= horizon {
            return out;
        }
        out.push(now.ms() as f64);
    }
}

/// `n` requests drawn from the workload of `text`.
fn demands(text: &str, seed: u64, n: usize) -> Vec<Demand> {
    let (mut w, _) = workload(text, seed);
    (0..n).map(|_| w.draw(SimTime::ZERO)).collect()
}

fn list(v: &[f64]) -> String {
    format!(
        "[{}]",
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

const DAILY: [f64; 24] = [
    0.3, 0.2, 0.2, 0.2, 0.3, 0.5, 0.8, 1.2, 1.6, 1.8, 1.9, 2.0, 1.9, 1.8, 1.8, 1.7, 1.6, 1.5, 1.3,
    1.1, 0.9, 0.7, 0.5, 0.4,
];
const WEEKLY: [f64; 7] = [1.0, 1.1, 1.1, 1.0, 0.9, 0.5, 0.4];

// ---------------------------------------------------------------------------------------------
// Profiles

#[test]
fn profile_reproduces_its_daily_and_weekly_shape() {
    let weeks = 30;
    let base = 30.0;
    let text = one_workload(
        &format!("{}d", weeks * 7),
        &format!(
            "process = \"profile\"\nrate_per_hour = {base}\ndaily = {}\nweekly = {}",
            list(&DAILY),
            list(&WEEKLY)
        ),
        "",
    );
    let times = arrival_times(&text, 1);
    let mut week = vec![0.0; 168];
    for t in &times {
        week[(*t / HOUR) as usize % 168] += 1.0;
    }
    // Each hour of the week occurs `weeks` times: its total is Poisson(weeks × base × mult).
    let expected: Vec<f64> = (0..168)
        .map(|h| weeks as f64 * base * DAILY[h % 24] * WEEKLY[h / 24])
        .collect();
    let x = chi2(&week, &expected);
    assert!(
        x < chi2_crit(168),
        "hour-of-week chi-square {x:.1} > {:.1}",
        chi2_crit(168)
    );
    // Hour of the day, summed over all days: 24 cells, a sharper look at the daily shape.
    let fold = |v: &[f64]| -> Vec<f64> {
        (0..24)
            .map(|h| (0..7).map(|d| v[d * 24 + h]).sum())
            .collect()
    };
    let (od, ed) = (fold(&week), fold(&expected));
    let x = chi2(&od, &ed);
    assert!(x < chi2_crit(24), "hour-of-day chi-square {x:.1}");
    // And the peak/trough ratio the profile implies (2.0 / 0.2 = 10), within 15%.
    let ratio = od[11] / od[1];
    assert!((ratio / 10.0 - 1.0).abs() < 0.15, "peak/trough {ratio}");
}

#[test]
fn hourly_rates_give_exact_zero_hours_and_the_configured_counts() {
    let weeks = 40;
    // Working hours only: 9:00-18:00 on the first five days, 0 elsewhere.
    let rates: Vec<f64> = (0..168)
        .map(|h| {
            let (d, hh) = (h / 24, h % 24);
            if d < 5 && (9..18).contains(&hh) {
                20.0 + hh as f64
            } else {
                0.0
            }
        })
        .collect();
    let text = one_workload(
        &format!("{}d", weeks * 7),
        &format!("process = \"profile\"\nhourly_rates = {}", list(&rates)),
        "",
    );
    let times = arrival_times(&text, 2);
    let mut week = vec![0.0; 168];
    for t in &times {
        week[(*t / HOUR) as usize % 168] += 1.0;
    }
    for h in 0..168 {
        if rates[h] == 0.0 {
            assert_eq!(week[h], 0.0, "arrivals in a zero hour {h}");
        }
    }
    let expected: Vec<f64> = rates.iter().map(|r| r * weeks as f64).collect();
    let k = rates.iter().filter(|r| **r > 0.0).count();
    let x = chi2(&week, &expected);
    assert!(x < chi2_crit(k), "chi-square {x:.1} > {:.1}", chi2_crit(k));
}

// ---------------------------------------------------------------------------------------------
// Growth

/// Expected arrivals in `[a, b)` hours of a rate `base (1 + g)^(t / 720 h)`.
fn ramp_mean(base: f64, g: f64, a: f64, b: f64) -> f64 {
    let m = 720.0;
    let l = (1.0 + g).ln();
    base * m / l * ((l * b / m).exp() - (l * a / m).exp())
}

#[test]
fn ramp_multiplies_counts_month_by_month() {
    let (base, g, months) = (120.0, 0.05, 12);
    let text = one_workload(
        &format!("{}d", 30 * months),
        &format!(
            "process = \"poisson\"\nrate_per_hour = {base}\n\
             growth = {{ kind = \"ramp\", per_month = {g} }}"
        ),
        "",
    );
    let times = arrival_times(&text, 3);
    let mut obs = vec![0.0; months];
    for t in &times {
        obs[(*t / (30.0 * DAY)) as usize] += 1.0;
    }
    let exp: Vec<f64> = (0..months)
        .map(|m| ramp_mean(base, g, m as f64 * 720.0, (m + 1) as f64 * 720.0))
        .collect();
    let x = chi2(&obs, &exp);
    assert!(x < chi2_crit(months), "monthly chi-square {x:.1}");
    // The configured +5%/month, read off the counts: last month / first = 1.05^11.
    let growth = (obs[months - 1] / obs[0]).powf(1.0 / (months - 1) as f64) - 1.0;
    assert!((growth - g).abs() < 0.002, "fitted growth {growth}");
}

#[test]
fn ramp_on_a_profile_grows_every_week() {
    let (base, g, weeks) = (40.0, 0.10, 26);
    let text = one_workload(
        &format!("{}d", weeks * 7),
        &format!(
            "process = \"profile\"\nrate_per_hour = {base}\ndaily = {}\nweekly = {}\n\
             growth = {{ kind = \"ramp\", per_month = {g} }}",
            list(&DAILY),
            list(&WEEKLY)
        ),
        "",
    );
    let times = arrival_times(&text, 4);
    let mut obs = vec![0.0; weeks * 168];
    for t in &times {
        obs[(*t / HOUR) as usize] += 1.0;
    }
    // Expected per hour: the profile's multiplier times the ramp integrated over the hour.
    let exp: Vec<f64> = (0..weeks * 168)
        .map(|h| {
            let m = DAILY[h % 24] * WEEKLY[(h / 24) % 7];
            m * ramp_mean(base, g, h as f64, h as f64 + 1.0)
        })
        .collect();
    let per_week = |v: &[f64]| -> Vec<f64> { v.chunks(168).map(|c| c.iter().sum()).collect() };
    let x = chi2(&per_week(&obs), &per_week(&exp));
    assert!(x < chi2_crit(weeks), "weekly chi-square {x:.1}");
    let x = chi2(&obs, &exp);
    assert!(x < chi2_crit(weeks * 168), "hourly chi-square {x:.1}");
}

#[test]
fn step_multiplies_the_rate_from_its_time_on() {
    let text = one_workload(
        "20d",
        "process = \"poisson\"\nrate_per_hour = 100\n\
         growth = { kind = \"step\", at = \"10d\", factor = 1.5 }",
        "",
    );
    let times = arrival_times(&text, 5);
    let before = times.iter().filter(|t| **t < 10.0 * DAY).count() as f64;
    let after = times.len() as f64 - before;
    for (obs, exp) in [(before, 24_000.0), (after, 36_000.0)] {
        let z = (obs - exp) / f64::sqrt(exp);
        assert!(z.abs() < 5.0, "count {obs}, expected {exp} (z = {z:.2})");
    }
}

// ---------------------------------------------------------------------------------------------
// Bursts

#[test]
fn bursts_give_the_long_run_rate_and_variance_of_an_on_off_mmpp() {
    let (base, factor, on_h, off_h, days) = (6.0, 5.0, 1.0, 6.0, 2000usize);
    let text = one_workload(
        &format!("{days}d"),
        &format!(
            "process = \"poisson\"\nrate_per_hour = {base}\n\
             burst = {{ on_mean = \"{on_h}h\", off_mean = \"{off_h}h\", factor = {factor} }}"
        ),
        "",
    );
    let times = arrival_times(&text, 6);
    // Long-run rate: base × (1 + (factor − 1)·on/(on + off)).
    let pi_on = on_h / (on_h + off_h);
    let m = base * (1.0 + (factor - 1.0) * pi_on);
    // Cox process: Var N(t) = m t + 2 C0 (t/a − (1 − e^(−a t))/a²), with C0 the rate's
    // stationary variance and a the chain's total switching rate (per hour).
    let dl = base * (factor - 1.0);
    let c0 = pi_on * (1.0 - pi_on) * dl * dl;
    let a = 1.0 / on_h + 1.0 / off_h;
    let var = |t: f64| m * t + 2.0 * c0 * (t / a - (1.0 - (-a * t).exp()) / (a * a));
    let hours = days as f64 * 24.0;
    let z = (times.len() as f64 - m * hours) / var(hours).sqrt();
    assert!(
        z.abs() < 5.0,
        "{} arrivals in {hours} h, expected {:.0} (z = {z:.2})",
        times.len(),
        m * hours
    );
    // Daily counts are overdispersed exactly as the modulation implies (a Poisson process at
    // the mean rate would give a variance of 24 m, a fifth of this). Over 2,000 days the
    // sample variance's relative standard error is about 3.5% (measured over 30 seeds), so a
    // 20% band is more than 5 standard errors.
    let mut daily = vec![0.0; days];
    for t in &times {
        daily[(*t / DAY) as usize] += 1.0;
    }
    let mean = daily.iter().sum::<f64>() / days as f64;
    let sv = daily.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (days - 1) as f64;
    let want = var(24.0);
    assert!(
        (sv / want - 1.0).abs() < 0.2,
        "variance of daily counts {sv:.1}, expected {want:.1}"
    );
}

// ---------------------------------------------------------------------------------------------
// Batches

/// Checks the batch sizes drawn against a pmf over `1..`: mean within 5 standard errors and a
/// chi-square on the frequencies.
fn check_batches(batch: &str, pmf: &[(u32, f64)]) {
    let n = 100_000;
    let text = one_workload(
        "1d",
        &format!("process = \"poisson\"\nrate_per_hour = 1\nbatch = {batch}"),
        "",
    );
    let sizes: Vec<u32> = demands(&text, 7, n)
        .iter()
        .map(|d| d.lifetimes.len() as u32)
        .collect();
    let total: f64 = pmf.iter().map(|(_, p)| p).sum();
    let mean: f64 = pmf.iter().map(|(k, p)| *k as f64 * p).sum::<f64>() / total;
    let var: f64 = pmf
        .iter()
        .map(|(k, p)| (*k as f64 - mean).powi(2) * p)
        .sum::<f64>()
        / total;
    let got = sizes.iter().map(|k| *k as f64).sum::<f64>() / n as f64;
    let se = (var / n as f64).sqrt();
    assert!(
        (got - mean).abs() <= 5.0 * se + 1e-12,
        "{batch}: mean {got}, expected {mean}"
    );
    let mut counts: BTreeMap<u32, f64> = BTreeMap::new();
    for k in &sizes {
        *counts.entry(*k).or_default() += 1.0;
        assert!(
            pmf.iter().any(|(v, p)| v == k && *p > 0.0),
            "{batch}: size {k} cannot occur"
        );
    }
    // Cells with an expected count of at least 5; the rest pooled.
    let (mut obs, mut exp) = (Vec::new(), Vec::new());
    let (mut ro, mut re) = (0.0, 0.0);
    for (k, p) in pmf {
        let e = n as f64 * p / total;
        let o = counts.get(k).copied().unwrap_or(0.0);
        if e >= 5.0 {
            obs.push(o);
            exp.push(e);
        } else {
            ro += o;
            re += e;
        }
    }
    if re > 0.0 {
        obs.push(ro);
        exp.push(re);
    }
    if obs.len() > 1 {
        let x = chi2(&obs, &exp);
        let crit = chi2_crit(obs.len() - 1).max(chi2_crit(6));
        assert!(x < crit, "{batch}: chi-square {x:.1} > {crit:.1}");
    }
}

#[test]
fn batch_sizes_follow_their_law() {
    check_batches(r#"{ dist = "fixed", value = 3 }"#, &[(3, 1.0)]);
    check_batches(
        r#"{ dist = "uniform", min = 2, max = 6 }"#,
        &(2..=6).map(|k| (k, 1.0)).collect::<Vec<_>>(),
    );
    // Geometric with mean 4 on 1, 2, ..., conditioned on k <= 100 (CVM's InstanceCount cap).
    let p: f64 = 0.25;
    check_batches(
        r#"{ dist = "geometric", mean = 4 }"#,
        &(1..=100)
            .map(|k| (k, p * (1.0 - p).powi(k as i32 - 1)))
            .collect::<Vec<_>>(),
    );
    check_batches(
        r#"{ dist = "empirical", values = [1, 2, 8, 40], weights = [6, 3, 0.9, 0.1] }"#,
        &[(1, 6.0), (2, 3.0), (8, 0.9), (40, 0.1)],
    );
    check_batches(
        r#"{ dist = "empirical", values = [5, 10] }"#,
        &[(5, 1.0), (10, 1.0)],
    );
}

#[test]
fn batch_sizes_are_counted_as_asked() {
    let text = one_workload(
        "1d",
        "process = \"poisson\"\nrate_per_hour = 1\nbatch = { dist = \"uniform\", min = 1, max = 9 }",
        "",
    );
    let (mut w, _) = workload(&text, 8);
    let total: u64 = (0..1000)
        .map(|_| w.draw(SimTime::ZERO).lifetimes.len() as u64)
        .sum();
    assert_eq!(w.asked, total);
    assert_eq!(w.requests, 1000);
}

// ---------------------------------------------------------------------------------------------
// Lifetimes

/// DKW bound (Massart's constant) on the sup distance between a sample CDF of `n` points and
/// the true CDF, exceeded with probability at most 1e-6.
fn dkw(n: usize) -> f64 {
    ((2.0f64 / 1e-6).ln() / (2.0 * n as f64)).sqrt()
}

/// Kolmogorov distance between the sample `xs` (ms) and the CDF `cdf`.
fn ks(xs: &mut [f64], cdf: impl Fn(f64) -> f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len() as f64;
    xs.iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            (f - i as f64 / n).max((i + 1) as f64 / n - f)
        })
        .fold(0.0, f64::max)
}

fn lifetimes_of(text: &str, seed: u64, n: usize) -> Vec<f64> {
    demands(text, seed, n)
        .iter()
        .flat_map(|d| d.lifetimes.iter().map(|l| l.ms() as f64))
        .collect()
}

/// CDF of a piecewise-linear quantile function through `(p, value)` points.
fn cdf_of_points(points: &[(f64, f64)], x: f64) -> f64 {
    if x < points[0].1 {
        return 0.0;
    }
    for w in points.windows(2) {
        let ((p0, v0), (p1, v1)) = (w[0], w[1]);
        if x < v1 {
            return p0 + (p1 - p0) * (x - v0) / (v1 - v0);
        }
    }
    1.0
}

/// Mean and variance of that law: a mixture of uniforms on the segments.
fn moments_of_points(points: &[(f64, f64)]) -> (f64, f64) {
    let (mut m1, mut m2) = (0.0, 0.0);
    for w in points.windows(2) {
        let ((p0, a), (p1, b)) = (w[0], w[1]);
        m1 += (p1 - p0) * (a + b) / 2.0;
        m2 += (p1 - p0) * (a * a + a * b + b * b) / 3.0;
    }
    (m1, m2 - m1 * m1)
}

fn check_law(xs: &mut [f64], points: &[(f64, f64)], what: &str) {
    let n = xs.len();
    let (mean, var) = moments_of_points(points);
    let got = xs.iter().sum::<f64>() / n as f64;
    assert!(
        (got - mean).abs() < 5.0 * (var / n as f64).sqrt(),
        "{what}: sample mean {got}, expected {mean}"
    );
    let d = ks(xs, |x| cdf_of_points(points, x));
    assert!(d < dkw(n), "{what}: KS distance {d} > {}", dkw(n));
}

#[test]
fn empirical_lifetimes_from_a_file() {
    let dir = fresh_dir("arrivals-lifetimes-file");
    // 1000 values 60 s, 120 s, ..., 60,000 s, shuffled, with a header, a comment and blank
    // lines: interpolated between order statistics they make a uniform law on [60 s, 60,000 s].
    let mut body = String::from("lifetime_s,other\n# observed lifetimes\n\n");
    for i in 0..1000u64 {
        let k = (i * 379) % 1000 + 1; // a permutation of 1..=1000
        body.push_str(&format!("{},x\n", k * 60));
    }
    write_file(&dir, "lifetimes.csv", &body);
    let text = one_workload("1d", "process = \"poisson\"\nrate_per_hour = 1", "").replace(
        r#"lifetime = { dist = "exponential", mean = "1h" }"#,
        r#"lifetime = { dist = "empirical", file = "lifetimes.csv" }"#,
    );
    let path = write_file(&dir, "scn.toml", &text);
    let scn = fleetsim::scenario::load_file(&path).expect("valid scenario");
    let mut w = Workload::new(scn.workloads[0].clone(), &RngStreams::new(9));
    let mut xs: Vec<f64> = (0..100_000)
        .map(|_| w.draw(SimTime::ZERO).lifetimes[0].ms() as f64)
        .collect();
    check_law(
        &mut xs,
        &[(0.0, 60_000.0), (1.0, 60_000_000.0)],
        "file lifetimes",
    );
}

#[test]
fn quantile_list_lifetimes() {
    // Azure-2017-like: median 25 min, 90th percentile 15 h, 99th 5 d, at most 25 d.
    let text = one_workload("1d", "process = \"poisson\"\nrate_per_hour = 1", "").replace(
        r#"lifetime = { dist = "exponential", mean = "1h" }"#,
        r#"lifetime = { dist = "empirical", quantiles = [[0, "5m"], [0.5, "25m"], [0.9, "15h"], [0.99, "5d"], [1, "25d"]] }"#,
    );
    let points = [
        (0.0, 5.0 * 60_000.0),
        (0.5, 25.0 * 60_000.0),
        (0.9, 15.0 * HOUR),
        (0.99, 5.0 * DAY),
        (1.0, 25.0 * DAY),
    ];
    let mut xs = lifetimes_of(&text, 10, 200_000);
    check_law(&mut xs, &points, "quantile lifetimes");
    // The configured quantiles, read off the sample (within the DKW band in p).
    xs.sort_by(f64::total_cmp);
    for &(p, v) in &points[1..4] {
        let below = xs.partition_point(|x| *x < v) as f64 / xs.len() as f64;
        assert!(
            (below - p).abs() < dkw(xs.len()),
            "P(X < {v}) = {below}, expected {p}"
        );
    }
}

const BY_TYPE: &str = r#"name = "by-type"
seed = 5
duration = "1d"
instance_types = ["S5.MEDIUM4", "S5.LARGE8"]

[zones.ap-guangzhou-3]
[zones.ap-guangzhou-4]

[[workloads]]
name = "w"
arrival = { process = "poisson", rate_per_hour = 1 }
lifetime = { dist = "exponential", mean = "1h" }
types = { "S5.MEDIUM4" = 3, "S5.LARGE8" = 1 }
zones = { ap-guangzhou-3 = 1, ap-guangzhou-4 = 1 }
batch_line
BY_TYPE_LINE
"#;

#[test]
fn lifetimes_by_instance_type() {
    let n = 100_000;
    let plain = BY_TYPE
        .replace("batch_line", "")
        .replace("BY_TYPE_LINE", "");
    let by_type = BY_TYPE.replace("batch_line", "").replace(
        "BY_TYPE_LINE",
        r#"lifetime_by_type = { "S5.LARGE8" = { dist = "exponential", mean = "5h" } }"#,
    );
    let a = demands(&plain, 11, n);
    let b = demands(&by_type, 11, n);
    let large = scenario(&plain).catalog.type_index("S5.LARGE8").unwrap();
    let mut large_lives = Vec::new();
    for (x, y) in a.iter().zip(&b) {
        // The type and zone are drawn first, then the lifetime from the type's law: the
        // requests are the same, the LARGE8 lifetimes five times as long (same uniforms).
        assert_eq!((x.itype, x.zone), (y.itype, y.zone));
        let (lx, ly) = (x.lifetimes[0].ms() as f64, y.lifetimes[0].ms() as f64);
        if x.itype == large {
            assert!((ly - 5.0 * lx).abs() <= 3.0, "{lx} -> {ly}");
            large_lives.push(ly);
        } else {
            assert_eq!(lx, ly);
        }
    }
    // And LARGE8 lifetimes are Exponential(5 h): KS against its CDF.
    let frac = large_lives.len() as f64 / n as f64;
    assert!((frac - 0.25).abs() < 5.0 * (0.25 * 0.75 / n as f64).sqrt());
    let d = ks(&mut large_lives, |x| 1.0 - (-x / (5.0 * HOUR)).exp());
    assert!(d < dkw(large_lives.len()), "KS {d}");

    // A fixed law for one type, with random batches: every LARGE8 instance gets it.
    let fixed = BY_TYPE
        .replace(
            "arrival = { process = \"poisson\", rate_per_hour = 1 }",
            "arrival = { process = \"poisson\", rate_per_hour = 1, batch = { dist = \"uniform\", min = 1, max = 4 } }",
        )
        .replace("batch_line", "")
        .replace(
            "BY_TYPE_LINE",
            r#"lifetime_by_type = { "S5.LARGE8" = { dist = "fixed", value = "3h" } }"#,
        );
    for d in demands(&fixed, 12, 10_000) {
        if d.itype == large {
            assert!(d.lifetimes.iter().all(|l| l.ms() as f64 == 3.0 * HOUR));
        } else {
            assert!(d.lifetimes.iter().any(|l| l.ms() as f64 != 3.0 * HOUR));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Common random numbers across workloads

const TWO: &str = r#"name = "crn"
seed = 21
duration = "4d"
sample_interval = "6h"
instance_types = ["S5.MEDIUM4", "S5.LARGE8"]

[cloud]
launch_failure_probability = 0

[api]
preset = "unlimited"

[zones.ap-guangzhou-3]
[zones.ap-guangzhou-4]

[[workloads]]
name = "A"
lifetime = { dist = "lognormal", median = "2h", sigma = 1.0 }
types = { "S5.MEDIUM4" = 2, "S5.LARGE8" = 1 }
zones = { ap-guangzhou-3 = 1, ap-guangzhou-4 = 1 }
[workloads.arrival]
process = "profile"
rate_per_hour = 20
daily = [0.3, 0.2, 0.2, 0.2, 0.3, 0.5, 0.8, 1.2, 1.6, 1.8, 1.9, 2.0, 1.9, 1.8, 1.8, 1.7, 1.6, 1.5, 1.3, 1.1, 0.9, 0.7, 0.5, 0.4]
growth = { kind = "ramp", per_month = 0.05 }
batch = { dist = "geometric", mean = 2 }

[[workloads]]
name = "B"
lifetime = { dist = "exponential", mean = "1h" }
types = { "S5.MEDIUM4" = 1, "S5.LARGE8" = 1 }
zones = { ap-guangzhou-3 = 1, ap-guangzhou-4 = 1 }
[workloads.arrival]
process = "poisson"
rate_per_hour = 15
B_EXTRA
"#;

/// Workload A's instances: (created, type, zone), sorted.
fn instances_of_a(dir: &Path) -> Vec<(u64, String, String)> {
    let mut v: Vec<_> = read_instances(dir)
        .into_iter()
        .filter(|r| r.owner == "workload0")
        .map(|r| (r.created_ms, r.itype, r.zone))
        .collect();
    v.sort();
    v
}

#[test]
fn bursts_in_one_workload_leave_anothers_demand_unchanged() {
    let dir = fresh_dir("arrivals-crn");
    let plain = write_file(&dir, "plain.toml", &TWO.replace("B_EXTRA", ""));
    let bursty = write_file(
        &dir,
        "bursty.toml",
        &TWO.replace(
            "B_EXTRA",
            "burst = { on_mean = \"30m\", off_mean = \"3h\", factor = 8 }\n\
             growth = { kind = \"step\", at = \"2d\", factor = 2 }\n\
             batch = { dist = \"uniform\", min = 1, max = 5 }",
        ),
    );
    let mut sizes = Vec::new();
    for (scn, out) in [(&plain, dir.join("plain")), (&bursty, dir.join("bursty"))] {
        let o = run_cli([
            "run".as_ref(),
            scn.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "--quiet".as_ref(),
        ]);
        assert_ok(&o);
        let b = read_instances(&out)
            .iter()
            .filter(|r| r.owner == "workload1")
            .count();
        sizes.push((instances_of_a(&out), b));
    }
    let (a1, b1) = &sizes[0];
    let (a2, b2) = &sizes[1];
    assert!(a1.len() > 1000, "{}", a1.len());
    // B really changed (bursts ×8, then twice the rate, batches of 3 on average).
    assert!(*b2 as f64 > 3.0 * *b1 as f64, "B: {b1} -> {b2}");
    assert_eq!(a1, a2, "workload A's instances changed");
}

// ---------------------------------------------------------------------------------------------
// Scenario mistakes: full field path and line

/// `GOOD` with `from` (one whole line) replaced by `to`, and the line number of the change.
const GOOD: &str = r#"name = "errs"
duration = "10d"
instance_types = ["S5.MEDIUM4", "S5.LARGE8"]

[zones.ap-guangzhou-3]

[[workloads]]
name = "a"
lifetime = { dist = "exponential", mean = "1h" }
types = { "S5.MEDIUM4" = 1, "S5.LARGE8" = 1 }
zones = { ap-guangzhou-3 = 1 }
instances_per_request = 1
[workloads.arrival]
process = "profile"
rate_per_hour = 10
weekly = [1, 1, 1, 1, 1, 0.5, 0.5]
growth = { kind = "ramp", per_month = 0.05 }
burst = { on_mean = "1h", off_mean = "6h", factor = 3 }
batch = { dist = "geometric", mean = 3 }
"#;

/// Checks that `GOOD` with `from` replaced by `to` is refused with `field` and `message`, at the
/// line starting with `at` (default: the first line of `to` that is not `from`).
fn rejected(dir: &Path, (from, to, field, message, at): Case<'_>) {
    assert!(GOOD.contains(from), "{from}");
    let text = GOOD.replacen(from, to, 1);
    let marker = at.unwrap_or_else(|| to.lines().find(|l| *l != from).unwrap_or(to));
    let line = text
        .lines()
        .position(|l| l.starts_with(marker))
        .map(|i| i + 1)
        .expect("edited line");
    let field = format!("workloads[0].{field}");
    let origin = dir.join("errs.toml");
    let e = match parse_scenario(&text, &origin.display().to_string()) {
        Ok(_) => panic!("accepted: {to}"),
        Err(e) => e.to_string(),
    };
    let want = format!("errs.toml:{line}: `{field}`: ");
    assert!(e.contains(&want), "{to}\nwant {want}\ngot  {e}");
    assert!(e.contains(message), "{to}\nwant {message}\ngot  {e}");
}

/// (from, to, field below `workloads[0]`, part of the message, start of the line it is on).
type Case<'a> = (&'a str, &'a str, &'a str, &'a str, Option<&'a str>);

#[test]
fn mistakes_name_their_field_and_line() {
    let dir = fresh_dir("arrivals-errors");
    std::fs::write(dir.join("bad.csv"), "seconds\n60\n90\nabc\n").unwrap();
    let good = parse_scenario(GOOD, "good.toml");
    assert!(good.is_ok(), "{:?}", good.err());
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "weekly = [1, 1, 1, 1, 1, 0.5, 0.5]",
            "weekly = [1, 1, 1, 1, 1, 0.5]",
            "arrival.weekly",
            "needs 7 values",
        ),
        (
            "weekly = [1, 1, 1, 1, 1, 0.5, 0.5]",
            "weekly = [1, 1, 1, -1, 1, 0.5, 0.5]",
            "arrival.weekly[3]",
            "0 or more",
        ),
        (
            "weekly = [1, 1, 1, 1, 1, 0.5, 0.5]",
            "weekly = [0, 0, 0, 0, 0, 0, 0]",
            "arrival.weekly",
            "above zero",
        ),
        (
            "process = \"profile\"",
            "process = \"poisson\"",
            "arrival.weekly",
            "use process = \"profile\"",
        ),
        (
            "process = \"profile\"",
            "process = \"profile\"\nhourly_rates = [1]",
            "arrival.rate_per_hour",
            "leave out `rate_per_hour`",
        ),
        (
            "process = \"profile\"",
            "process = \"gamma\"",
            "arrival.process",
            "unknown variant",
        ),
        (
            "growth = { kind = \"ramp\", per_month = 0.05 }",
            "growth = { kind = \"step\", at = \"5d\" }",
            "arrival.growth.factor",
            "a step growth needs `factor`",
        ),
        (
            "growth = { kind = \"ramp\", per_month = 0.05 }",
            "growth = { kind = \"ramp\", per_month = 0.05, at = \"1d\" }",
            "arrival.growth.at",
            "a ramp growth takes per_month",
        ),
        (
            "growth = { kind = \"ramp\", per_month = 0.05 }",
            "growth = { kind = \"ramp\", per_month = -1 }",
            "arrival.growth.per_month",
            "above -1",
        ),
        (
            "burst = { on_mean = \"1h\", off_mean = \"6h\", factor = 3 }",
            "burst = { on_mean = \"0s\", off_mean = \"6h\", factor = 3 }",
            "arrival.burst.on_mean",
            "longer than zero",
        ),
        (
            "burst = { on_mean = \"1h\", off_mean = \"6h\", factor = 3 }",
            "burst = { on_mean = \"1h\", off_mean = \"6h\", factor = -3 }",
            "arrival.burst.factor",
            "positive number",
        ),
        (
            "burst = { on_mean = \"1h\", off_mean = \"6h\", factor = 3 }",
            "burst = { on_mean = \"1h\", off = \"6h\", factor = 3 }",
            "arrival.burst.off",
            "unknown field `off`",
        ),
        (
            "batch = { dist = \"geometric\", mean = 3 }",
            "batch = { dist = \"geometric\", mean = 0.5 }",
            "arrival.batch.mean",
            "at least 1",
        ),
        (
            "batch = { dist = \"geometric\", mean = 3 }",
            "batch = { dist = \"uniform\", min = 4, max = 2 }",
            "arrival.batch.max",
            "below min",
        ),
        (
            "batch = { dist = \"geometric\", mean = 3 }",
            "batch = { dist = \"empirical\", values = [1, 200] }",
            "arrival.batch.values[1]",
            "1..=100",
        ),
        (
            "batch = { dist = \"geometric\", mean = 3 }",
            "batch = { dist = \"empirical\", values = [1, 2], weights = [1] }",
            "arrival.batch.weights",
            "one weight per value",
        ),
        (
            "batch = { dist = \"geometric\", mean = 3 }",
            "batch = { dist = \"fixed\", mean = 3 }",
            "arrival.batch.mean",
            "a fixed batch takes value",
        ),
        (
            "instances_per_request = 1",
            "instances_per_request = 2",
            "instances_per_request",
            "not both",
        ),
        (
            "rate_per_hour = 10",
            "rate_per_hour = 3000000",
            "arrival.rate_per_hour",
            "peak rate",
        ),
        (
            "zones = { ap-guangzhou-3 = 1 }",
            "zones = { ap-guangzhou-3 = 1 }\nlifetime_by_type = { \"S5.SMALL1\" = { dist = \"fixed\", value = \"1h\" } }",
            "lifetime_by_type.S5.SMALL1",
            "not among this workload's types",
        ),
        (
            "zones = { ap-guangzhou-3 = 1 }",
            "zones = { ap-guangzhou-3 = 1 }\nlifetime_by_type = { \"S5.LARGE8\" = { dist = \"fixed\", mean = \"1h\" } }",
            "lifetime_by_type.S5.LARGE8.mean",
            "takes value",
        ),
        (
            "lifetime = { dist = \"exponential\", mean = \"1h\" }",
            "lifetime = { dist = \"empirical\", quantiles = [[0.1, \"1m\"], [1, \"1h\"]] }",
            "lifetime.quantiles[0]",
            "p = 0",
        ),
        (
            "lifetime = { dist = \"exponential\", mean = \"1h\" }",
            "lifetime = { dist = \"empirical\", quantiles = [[0, \"1m\"], [0.5, \"1h\"], [1, \"30m\"]] }",
            "lifetime.quantiles[2]",
            "must not fall",
        ),
        (
            "lifetime = { dist = \"exponential\", mean = \"1h\" }",
            "lifetime = { dist = \"empirical\", quantiles = [[0, \"1m\"], [0.5, \"1h\"], [0.9, \"2h\"]] }",
            "lifetime.quantiles[2]",
            "p = 1",
        ),
        (
            "lifetime = { dist = \"exponential\", mean = \"1h\" }",
            "lifetime = { dist = \"empirical\", values = [\"1h\"], file = \"x.csv\" }",
            "lifetime.file",
            "not both `values` and `file`",
        ),
        (
            "lifetime = { dist = \"exponential\", mean = \"1h\" }",
            "lifetime = { dist = \"empirical\" }",
            "lifetime.values",
            "needs `values`, `file` or `quantiles`",
        ),
        (
            "lifetime = { dist = \"exponential\", mean = \"1h\" }",
            "lifetime = { dist = \"empirical\", file = \"missing.csv\" }",
            "lifetime.file",
            "cannot read",
        ),
        (
            "lifetime = { dist = \"exponential\", mean = \"1h\" }",
            "lifetime = { dist = \"empirical\", file = \"bad.csv\" }",
            "lifetime.file",
            "bad.csv:4: `abc` is not a duration",
        ),
        (
            "lifetime = { dist = \"exponential\", mean = \"1h\" }",
            "lifetime = { dist = \"exponential\", mean = \"1h\", file = \"bad.csv\" }",
            "lifetime.file",
            "takes mean, not `file`",
        ),
    ];
    for &(from, to, field, message) in cases {
        let at = match (from, field) {
            ("process = \"profile\"", "arrival.weekly") => Some("weekly ="),
            ("process = \"profile\"", "arrival.rate_per_hour") => Some("rate_per_hour ="),
            _ => None,
        };
        rejected(&dir, (from, to, field, message, at));
    }
}

#[test]
fn shipped_capacity_growth_scenario_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/capacity-growth.toml");
    let scn = fleetsim::scenario::load_file(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(scn.workloads.iter().any(|w| w.arrival.growth.is_some()));
    assert!(scn.workloads.iter().any(|w| !w.arrival.week.is_empty()));
    assert!(scn.workloads.iter().any(|w| w.arrival.batch.is_some()));
    assert!(scn.quotas.iter().any(|q| q.postpaid.is_some()));
}

/// Requests drawn ahead on the helper thread (`workload::ahead`, which `fleetsim run` uses for
/// busy workloads) are the requests the workload draws in place, in the same order, with the
/// same arrival times and counters: for a Poisson workload with random batches and a lifetime
/// per type, a profile with growth, and bursts; whether drawing ahead begins before the
/// workload has started or after; and past the horizon, where the drawer comes back and the
/// workload goes on drawing in place.
#[test]
fn drawing_ahead_gives_the_requests_drawn_in_place() {
    let cases = [
        (
            "process = \"poisson\"\nrate_per_hour = 2400\n\
             batch = { dist = \"uniform\", min = 1, max = 3 }",
            "lifetime_by_type = { \"S5.MEDIUM4\" = { dist = \"lognormal\", median = \"2h\", sigma = 1.0 } }",
        ),
        (
            "process = \"profile\"\nrate_per_hour = 2400\n\
             daily = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1, 1, 1.5, 1.5, 1.5, 1.5, \
             1.5, 1.5, 1.5, 1.5, 1.5, 1, 1, 1, 0.5, 0.5, 0.5, 0.5]\n\
             growth = { kind = \"ramp\", per_month = 0.5 }",
            "",
        ),
        (
            "process = \"poisson\"\nrate_per_hour = 2000\n\
             burst = { on_mean = \"1h\", off_mean = \"3h\", factor = 4 }",
            "",
        ),
    ];
    for (arrival, extra) in cases {
        let text = one_workload("12h", arrival, extra);
        let scn = scenario(&text);
        let horizon = SimTime::ZERO + scn.duration;
        for started_first in [false, true] {
            let mut here = Workload::new(scn.workloads[0].clone(), &RngStreams::new(9));
            let mut ahead = Workload::new(scn.workloads[0].clone(), &RngStreams::new(9));
            let mut t = here.next_arrival(SimTime::ZERO);
            if started_first {
                assert_eq!(ahead.next_arrival(SimTime::ZERO), t);
                fleetsim::workload::ahead::draw_ahead(std::iter::once(&mut ahead), horizon);
            } else {
                fleetsim::workload::ahead::draw_ahead(std::iter::once(&mut ahead), horizon);
                assert_eq!(ahead.next_arrival(SimTime::ZERO), t);
            }
            assert!(ahead.drawn_ahead() && !here.drawn_ahead(), "{arrival}");
            // Every request before the horizon, and 300 after it.
            let mut past = 0;
            while past < 300 {
                let d = here.draw(t);
                assert_eq!(ahead.draw(t), d, "{arrival}: the request at {t:?}");
                let next = here.next_arrival(t);
                assert_eq!(ahead.next_arrival(t), next, "{arrival}: after {t:?}");
                past += (t >= horizon) as u32;
                t = next;
            }
            assert!(
                here.requests > 20_000,
                "{arrival}: {} requests",
                here.requests
            );
            // Past the horizon the drawer came back.
            assert!(!ahead.drawn_ahead(), "{arrival}");
            assert_eq!(
                (ahead.requests, ahead.asked),
                (here.requests, here.asked),
                "{arrival}"
            );
        }
    }
}
