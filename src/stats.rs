//! Summary statistics for replications: mean, standard deviation and Student-t confidence
//! intervals.

/// Mean, sample standard deviation and a 95% confidence interval of the mean.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Estimate {
    pub n: usize,
    pub mean: f64,
    pub sd: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom (NaN for `df = 0`), exact to
/// about 1e-12: the root of the t distribution's CDF, found by bisection.
pub fn t975(df: usize) -> f64 {
    t_quantile(0.975, df)
}

/// The `p`-quantile of Student's t with `df` degrees of freedom, for 0 < p < 1 (NaN for
/// `df = 0` or `p` outside that range).
///
/// For whole degrees of freedom the probability `P(|T| < t)` is a finite sum of powers of
/// `cos θ`, `θ = atan(t / √df)` (Abramowitz & Stegun 26.7.3–4), so no series is cut short and
/// no table runs out; bisection on that sum then finds the quantile to the last few bits.
///
/// ```
/// // Published table values of t(0.975)
/// assert!((fleetsim::stats::t_quantile(0.975, 31) - 2.039513).abs() < 1e-6);
/// assert!((fleetsim::stats::t_quantile(0.975, 1000) - 1.962339).abs() < 1e-6);
/// ```
pub fn t_quantile(p: f64, df: usize) -> f64 {
    if df == 0 || !(p > 0.0 && p < 1.0) {
        return f64::NAN;
    }
    if p < 0.5 {
        return -t_quantile(1.0 - p, df);
    }
    // P(|T| < t) = 2p - 1, computed as 1 - 2(1 - p) to keep the tail's precision.
    let target = 1.0 - 2.0 * (1.0 - p);
    let mut hi = 1.0;
    while t_central(hi, df) < target {
        hi *= 2.0;
        if !hi.is_finite() {
            return f64::INFINITY;
        }
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if t_central(mid, df) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// `P(|T| < t)` for Student's t with `df >= 1` whole degrees of freedom, `t >= 0`.
fn t_central(t: f64, df: usize) -> f64 {
    let theta = (t / (df as f64).sqrt()).atan();
    let (s, c) = theta.sin_cos();
    let c2 = c * c;
    // Sum of the terms' products, each one the previous times c² · (k-1)/k (odd: k even
    // numerators over odd denominators; even: the reverse), up to the power df - 2 or df - 3.
    let mut term = 1.0;
    let mut sum = 1.0;
    if df % 2 == 1 {
        // (2/π)(θ + sin θ cos θ [1 + (2/3)c² + (2·4)/(3·5)c⁴ + … + c^(df-3) term])
        if df == 1 {
            return 2.0 * theta / std::f64::consts::PI;
        }
        let mut k = 2;
        while k < df - 1 {
            term *= c2 * k as f64 / (k + 1) as f64;
            sum += term;
            k += 2;
        }
        2.0 / std::f64::consts::PI * (theta + s * c * sum)
    } else {
        // sin θ [1 + (1/2)c² + (1·3)/(2·4)c⁴ + … + c^(df-2) term]
        let mut k = 1;
        while k < df - 1 {
            term *= c2 * k as f64 / (k + 1) as f64;
            sum += term;
            k += 2;
        }
        s * sum
    }
}

/// Estimates the mean of `xs` with a 95% confidence interval. With one value the interval is
/// that value (no spread can be estimated).
pub fn estimate(xs: &[f64]) -> Estimate {
    let n = xs.len();
    if n == 0 {
        return Estimate {
            n,
            mean: f64::NAN,
            sd: f64::NAN,
            ci_low: f64::NAN,
            ci_high: f64::NAN,
        };
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return Estimate {
            n,
            mean,
            sd: 0.0,
            ci_low: mean,
            ci_high: mean,
        };
    }
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
    let sd = var.sqrt();
    let half = t975(n - 1) * sd / (n as f64).sqrt();
    Estimate {
        n,
        mean,
        sd,
        ci_low: mean - half,
        ci_high: mean + half,
    }
}

/// The `p`-th percentile (0..=100) of `xs` by linear interpolation (xs need not be sorted).
pub fn percentile(xs: &[f64], p: f64) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    crate::engine::dist::quantile_of_sorted(&v, p / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_interval() {
        // 1..=5: mean 3, sd sqrt(2.5), t(4) = 2.776445 (tables)
        let e = estimate(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(e.mean, 3.0);
        assert!((e.sd - 2.5f64.sqrt()).abs() < 1e-12);
        let half = 2.776445 * 2.5f64.sqrt() / 5f64.sqrt();
        assert!((e.ci_high - 3.0 - half).abs() < 1e-6);
    }

    /// Published two-sided 95% critical values (six decimals, as tabulated) at whole and
    /// large degrees of freedom (a normal approximation beyond 30 would be 3e-3 off at 31).
    #[test]
    fn t_quantile_matches_published_tables() {
        let table = [
            (1, 12.706205),
            (2, 4.302653),
            (3, 3.182446),
            (4, 2.776445),
            (5, 2.570582),
            (10, 2.228139),
            (20, 2.085963),
            (29, 2.045230),
            (30, 2.042272),
            (31, 2.039513),
            (40, 2.021075),
            (60, 2.000298),
            (120, 1.979930),
            (1000, 1.962339),
        ];
        for (df, want) in table {
            let got = t975(df);
            assert!((got - want).abs() < 1e-6, "df {df}: {got} vs {want}");
        }
        // Far out it is the normal quantile.
        assert!((t975(1_000_000) - 1.959966).abs() < 1e-6);
        assert!(t975(0).is_nan());
    }

    #[test]
    fn t_quantile_other_levels_and_symmetry() {
        // t(0.995, 10) = 3.169273, t(0.95, 31) = 1.695519 (tables)
        assert!((t_quantile(0.995, 10) - 3.169273).abs() < 1e-6);
        assert!((t_quantile(0.95, 31) - 1.695519).abs() < 1e-6);
        assert_eq!(t_quantile(0.05, 31), -t_quantile(0.95, 31));
        assert!(t_quantile(0.5, 7).abs() < 1e-12);
    }

    #[test]
    fn percentiles() {
        assert_eq!(percentile(&[3.0, 1.0, 2.0], 50.0), 2.0);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 100.0), 4.0);
    }
}
