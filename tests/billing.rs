//! Exact lifecycle times and bills. With fixed transition times and fixed lifetimes every
//! instance's timeline is known in advance, and so is its bill to the micro-unit: postpaid
//! billed from RUNNING until TerminateInstances (tiers 100% / 50% after 96 h / 34% after 360 h
//! of billed time), spot at `spot_price_fraction` of the postpaid price, prepaid the whole
//! period up front with the family's published period discount. PENDING and TERMINATING are not billed.

mod common;

use common::*;

const P: u64 = 60_000; // PENDING, ms
const D: u64 = 5_000; // TERMINATING, ms
const HOUR: u64 = 3_600_000;
const HORIZON: u64 = 10 * 24 * HOUR;

const SCN: &str = r#"
name = "billing"
seed = 9
duration = "10d"
sample_interval = "6h"
instance_types = ["S5.MEDIUM4", "S5.LARGE8", "SA2.MEDIUM4"]

[cloud]
launch_failure_probability = 0
spot_price_fraction = 0.2
timings = { pending = { dist = "fixed", value = "60s" }, terminating = { dist = "fixed", value = "5s" } }

[zones.ap-guangzhou-3]

[billing]
settlement_rounding = false   # the exact amounts; tests/money.rs rounds

[prices."S5.MEDIUM4"]
postpaid_hourly = 1.0
tiered = true

[prices."S5.LARGE8"]
postpaid_hourly = 2.0
prepaid_monthly = 100.0
tiered = false

[prices."SA2.MEDIUM4"]
postpaid_hourly = 0.5

# workload0: crosses the 96 h tier
[[workloads]]
name = "long"
arrival = { process = "poisson", rate_per_hour = 0.5 }
lifetime = { dist = "fixed", value = "100h" }
types = { "S5.MEDIUM4" = 1 }
zones = { ap-guangzhou-3 = 1 }

# workload1: ends while PENDING, so it is terminated as soon as it is RUNNING
[[workloads]]
name = "short"
arrival = { process = "poisson", rate_per_hour = 2 }
lifetime = { dist = "fixed", value = "10s" }
types = { "S5.LARGE8" = 1 }
zones = { ap-guangzhou-3 = 1 }

# workload2: untiered postpaid
[[workloads]]
name = "mid"
arrival = { process = "poisson", rate_per_hour = 1 }
lifetime = { dist = "fixed", value = "90m" }
types = { "S5.LARGE8" = 1 }
zones = { ap-guangzhou-3 = 1 }

# workload3: spot at 0.2 × 0.5 = 0.1 per hour
[[workloads]]
name = "spot"
charge_type = "SPOTPAID"
arrival = { process = "poisson", rate_per_hour = 1 }
lifetime = { dist = "fixed", value = "3h" }
types = { "SA2.MEDIUM4" = 1 }
zones = { ap-guangzhou-3 = 1 }
instances_per_request = 2

# workload4: a year prepaid at 69% of 12 × 100 (S5's published 1-year discount), through the
# recycle bin after 2 h
[[workloads]]
name = "pre"
charge_type = "PREPAID"
period_months = 12
arrival = { process = "poisson", rate_per_hour = 0.5 }
lifetime = { dist = "fixed", value = "2h" }
types = { "S5.LARGE8" = 1 }
zones = { ap-guangzhou-3 = 1 }
"#;

/// An amount in units of hourly micro-price × ms × percent (1 micro-unit = 3,600,000 × 100
/// of them), rounded half up to micro-units and written with six decimals.
fn money(units: u128) -> String {
    let per_micro = 3_600_000u128 * 100;
    let micros = (units + per_micro / 2) / per_micro;
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// Postpaid charge of `ms` billed milliseconds from zero at tier-1 price `hourly_micro`.
fn tiered(hourly_micro: u128, ms: u64) -> u128 {
    let tiers = [
        (0, 96 * HOUR, 100),
        (96 * HOUR, 360 * HOUR, 50),
        (360 * HOUR, u64::MAX, 34),
    ];
    tiers
        .iter()
        .map(|&(lo, hi, pct)| {
            let part = ms.min(hi).saturating_sub(lo);
            hourly_micro * part as u128 * pct
        })
        .sum()
}

fn flat(hourly_micro: u128, ms: u64) -> u128 {
    hourly_micro * ms as u128 * 100
}

#[test]
fn every_timeline_and_bill_is_exact() {
    let dir = fresh_dir("billing-exact");
    let file = write_file(&dir, "billing.toml", SCN);
    let out = dir.join("out");
    let o = run_cli([
        "run".as_ref(),
        file.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--quiet".as_ref(),
    ]);
    assert_ok(&o);
    let folder = check_run_folder(&out, 6 * HOUR);
    let s = &folder.summary;
    assert_eq!(u(s, "requests_refused"), 0);
    assert_eq!(u(s, "instances_launch_failed"), 0);

    let mut seen = [0usize; 5];
    let mut prepaid = 0u64;
    // The account's first return within five days of purchase is refunded in full
    // (退还包年包月实例退费说明: one five-day return per account); every prepaid instance here is
    // returned 2 h after its purchase, so the first one returned gets it.
    let first_return = folder
        .instances
        .iter()
        .filter(|r| r.owner == "workload4" && r.created_ms + 2 * HOUR < HORIZON)
        .map(|r| r.created_ms)
        .min()
        .expect("a prepaid instance returned");
    for r in &folder.instances {
        let w: usize = r.owner.trim_start_matches("workload").parse().unwrap();
        seen[w] += 1;
        let life = [100 * HOUR, 10_000, 90 * 60_000, 3 * HOUR, 2 * HOUR][w];
        let c = r.created_ms;
        // RUNNING after exactly P; the workload's call comes at c + life, or at RUNNING if the
        // lifetime ended while PENDING; release D later.
        let ends = c + life.max(P);
        if c + P < HORIZON {
            assert_eq!(r.running_ms, Some(c + P), "{r:?}");
        } else {
            assert_eq!(r.running_ms, None, "{r:?}");
            assert_eq!(r.final_state, "PENDING", "{r:?}");
        }
        if ends + D < HORIZON {
            assert_eq!(r.released_ms, Some(ends + D), "{r:?}");
            assert_eq!(r.final_state, "RELEASED", "{r:?}");
        } else {
            assert_eq!(r.released_ms, None, "{r:?}");
            let want = if c + P >= HORIZON {
                "PENDING"
            } else if ends >= HORIZON {
                "RUNNING"
            } else {
                // Ended: a prepaid one is isolated and destroyed at once, so TERMINATING too.
                "TERMINATING"
            };
            assert_eq!(r.final_state, want, "{r:?}");
        }
        // Billed time: RUNNING until the terminate call (or the horizon).
        let billed = match r.running_ms {
            Some(run) => ends.min(HORIZON).saturating_sub(run),
            None => 0,
        };
        let want = match w {
            0 => money(tiered(1_000_000, billed)),
            1 | 2 => money(flat(2_000_000, billed)),
            3 => money(flat(100_000, billed)),
            _ => {
                prepaid += 1;
                if c == first_return {
                    "0.000000".to_string()
                } else if ends < HORIZON {
                    // Terminated early: 828.00 paid (12 × 100 × 69%), refunded down to what
                    // was consumed: whole 30-day months at 100 plus the rest at 2.00/h, from
                    // creation to the TerminateInstances call (lifetimes here are < 30 days).
                    let used = ends - c;
                    let consumed = flat(2_000_000, used);
                    money(consumed.min(828_000_000 * 3_600_000 * 100))
                } else {
                    "828.000000".to_string()
                }
            }
        };
        assert_eq!(r.cost_text, want, "bill of {r:?} (billed {billed} ms)");
        if w == 1 {
            assert_eq!(r.cost_text, "0.000000", "{r:?}");
        }
    }
    for (w, n) in seen.iter().enumerate() {
        assert!(*n > 5, "workload{w} made only {n} instances");
    }
    assert!(
        folder.instances.iter().any(|r| r.owner == "workload0"
            && r.final_state == "RELEASED"
            && r.cost_text.starts_with("97.")),
        "no long instance finished its 100 h inside the run"
    );
    // The prepaid total is the sum of the prepaid bills (paid net of refunds).
    let pre = s["cost_by_charge_type"]["PREPAID"].as_f64().unwrap();
    let bills: f64 = folder
        .instances
        .iter()
        .filter(|r| r.charge == "PREPAID")
        .map(|r| r.cost)
        .sum();
    assert!(prepaid > 0);
    assert!(
        (pre - bills).abs() < 1e-6 * prepaid as f64,
        "{pre} vs {bills}"
    );
}
