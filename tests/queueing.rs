//! The fleet as an M/G/∞ queue. With Poisson requests at rate λ, no quotas or stock limits and
//! no launch failures, every request is served at once, and the number of instances in the
//! fleet is the number of customers of an M/G/∞ queue whose service time S is the time an
//! instance spends in the fleet: its lifetime L (counted from the accepted RunInstances) plus
//! the TERMINATING duration — or, if L ends while the instance is still PENDING, the PENDING
//! duration plus TERMINATING. Its time-average is λ·E[S] (Little's law), whatever the law of L.
//!
//! Tolerance. In steady state N is Poisson with mean m = λE[S]; the time-average over T has
//! variance ≈ 2·Var(N)·τ/T, where τ = ∫ρ(t)dt = E[S²]/(2E[S]) is the integrated
//! autocorrelation time of an M/G/∞ queue. The run starts empty, which biases the average down
//! by λE[S²]/(2T). Each test asserts |mean − m| < 6 sd + bias, computed from these formulas; for
//! 60 days at 60/h these are about 0.5% (sd) and 0.15% (bias) of m, so the bound is ≈3–4% and a
//! correct simulator fails it with probability < 1e-8, while a wrong lifetime mean, a unit
//! error or an uncounted TERMINATING half hour is far outside it.

mod common;

use common::scenario;
use fleetsim::run::{RunOptions, run};

const HOUR: f64 = 3600.0;
const DAYS: f64 = 60.0;
const T: f64 = DAYS * 86_400.0;

/// Γ(5/3) and Γ(7/3), for the Weibull moments with shape 1.5 (written out, not computed by the
/// crate under test).
const GAMMA_5_3: f64 = 0.902_745_292_950_933_6;
const GAMMA_7_3: f64 = 1.190_639_348_758_999;

fn mg_inf(
    name: &str,
    lifetime: &str,
    rate_per_hour: f64,
    per_request: u32,
    pending: &str,
    terminating: &str,
) -> String {
    format!(
        r#"
name = "{name}"
seed = 2024
duration = "{DAYS}d"
instance_types = ["S5.MEDIUM4"]

[cloud]
launch_failure_probability = 0
timings = {{ pending = {{ dist = "fixed", value = "{pending}" }}, terminating = {{ dist = "fixed", value = "{terminating}" }} }}

[zones.ap-guangzhou-3]

[[workloads]]
name = "w"
charge_type = "POSTPAID_BY_HOUR"
arrival = {{ process = "poisson", rate_per_hour = {rate_per_hour} }}
lifetime = {lifetime}
types = {{ "S5.MEDIUM4" = 1 }}
zones = {{ ap-guangzhou-3 = 1 }}
instances_per_request = {per_request}
"#
    )
}

/// Runs without writing files and checks the time-average fleet size against λ·E[S], with
/// `es` and `es2` the first two moments of S in seconds (λ in instances per second).
fn check(text: &str, lambda_per_s: f64, es: f64, es2: f64) {
    let scn = scenario(text);
    let res = run(
        &scn,
        RunOptions {
            out: None,
            seed: None,
            trace: None,
            write_files: false,
        },
    )
    .expect("run failed");
    let s = &res.summary;
    assert!(res.out_dir.is_none());
    assert_eq!(s.requests_refused, 0);
    assert_eq!(s.instances_launch_failed, 0);
    assert_eq!(s.api_calls_throttled, 0);

    let m = lambda_per_s * es;
    let tau = es2 / (2.0 * es);
    let sd = (2.0 * m * tau / T).sqrt();
    let bias = lambda_per_s * es2 / (2.0 * T);
    let tol = 6.0 * sd + bias;
    assert!(tol < 0.05 * m, "tolerance {tol} too loose for m = {m}");
    let got = s.mean_instances_alive;
    println!(
        "{}: mean alive {got:.3}, predicted {m:.3}, tolerance {tol:.3}",
        s.scenario
    );
    assert!(
        (got - m).abs() < tol,
        "{}: mean instances alive {got:.3}, M/G/∞ predicts {m:.3} ± {tol:.3}",
        s.scenario
    );

    // Instances created: Poisson with mean λT (per-request batches scale the variance).
    let n = lambda_per_s * T;
    let created = s.instances_created as f64;
    assert!(
        (created - n).abs() < 6.0 * (n * 3.0).sqrt(),
        "{} instances created, expected about {n}",
        s.instances_created
    );
    assert_eq!(
        s.instances_created,
        s.instances_terminated + s.instances_alive_at_end
    );
    assert!(s.peak_instances_alive as f64 > m);
}

#[test]
fn exponential_lifetimes() {
    // L ~ Exp(mean 2 h); S = L + 1 s (pending 1 s is shorter than L except with prob. 1.4e-4,
    // whose effect on E[S] is below 1e-7 h).
    let mu = 2.0 * HOUR;
    let es = mu + 1.0;
    let es2 = 2.0 * mu * mu + 2.0 * mu + 1.0;
    check(
        &mg_inf(
            "mg-exp",
            r#"{ dist = "exponential", mean = "2h" }"#,
            60.0,
            1,
            "1s",
            "1s",
        ),
        60.0 / HOUR,
        es,
        es2,
    );
}

#[test]
fn lognormal_lifetimes() {
    // L ~ LogNormal(ln 1 h, 1): E[L] = e^{1/2} h, E[L²] = e^{2} h².
    let el = 0.5f64.exp() * HOUR;
    let el2 = 2.0f64.exp() * HOUR * HOUR;
    check(
        &mg_inf(
            "mg-lognormal",
            r#"{ dist = "lognormal", median = "1h", sigma = 1.0 }"#,
            60.0,
            1,
            "1s",
            "1s",
        ),
        60.0 / HOUR,
        el + 1.0,
        el2 + 2.0 * el + 1.0,
    );
}

#[test]
fn weibull_lifetimes() {
    // L ~ Weibull(shape 1.5, scale 2 h): E[L] = 2 h·Γ(5/3), E[L²] = 4 h²·Γ(7/3).
    let el = 2.0 * HOUR * GAMMA_5_3;
    let el2 = 4.0 * HOUR * HOUR * GAMMA_7_3;
    check(
        &mg_inf(
            "mg-weibull",
            r#"{ dist = "weibull", shape = 1.5, scale = "2h" }"#,
            60.0,
            1,
            "1s",
            "1s",
        ),
        60.0 / HOUR,
        el + 1.0,
        el2 + 2.0 * el + 1.0,
    );
}

/// Slow transitions make the queue's service time visibly more than the lifetime: PENDING lasts
/// 10 min and TERMINATING 30 min, and a lifetime that ends while the instance boots ends it as
/// soon as it is RUNNING. So S = max(L, p) + d, with L ~ Exp(μ = 2 h), p = 1/6 h, d = 1/2 h:
/// E[max(L, p)] = p + μe^{-p/μ} and E[max(L, p)²] = p² + 2μ(p + μ)e^{-p/μ}.
/// Requests ask for 3 instances each (a batch Poisson arrival; instances are still independent
/// M/G/∞ customers for the mean, and batches only raise the variance, covered by the bound
/// below which is widened by √3 for them).
#[test]
fn slow_transitions_and_batches_count_in_the_fleet() {
    let mu = 2.0 * HOUR;
    let p = HOUR / 6.0;
    let d = HOUR / 2.0;
    let e = (-p / mu).exp();
    let em = p + mu * e;
    let em2 = p * p + 2.0 * mu * (p + mu) * e;
    let es = em + d;
    let es2 = em2 + 2.0 * d * em + d * d;
    // 20 requests/h × 3 instances: λ = 60 instances/h. Batches of 3 triple Var(N) relative to
    // the Poisson case at most; inflate E[S²] by 3 so the computed bound covers them.
    check(
        &mg_inf(
            "mg-slow",
            r#"{ dist = "exponential", mean = "2h" }"#,
            20.0,
            3,
            "10m",
            "30m",
        ),
        60.0 / HOUR,
        es,
        es2 * 3.0,
    );
}
