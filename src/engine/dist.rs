//! Distributions of non-negative quantities (durations, sizes), sampled by inverse transform
//! from a [`RandomStream`]. Written out rather than taken from a crate so that a sample path is
//! fixed by the seed alone: each draw uses a known number of uniforms and a formula that no
//! dependency upgrade can change.

use super::rng::RandomStream;

/// `x.round()` (half away from zero), exactly, without the libm call that `f64::round` becomes
/// on baseline x86_64 (no SSE4.1 `roundsd`); every sampled duration is rounded to whole
/// milliseconds, so this is on the hot path. For |x| < 2^52 the fraction `x - trunc(x)` is
/// computed exactly (Sterbenz), so comparing it with 0.5 decides as `round` does; larger values
/// are already integers.
#[inline]
pub fn round(x: f64) -> f64 {
    const LIMIT: f64 = 4_503_599_627_370_496.0; // 2^52
    let a = x.abs();
    if a >= LIMIT || a.is_nan() {
        return x; // integral already, or NaN / infinite
    }
    let t = a as u64 as f64;
    let r = if a - t >= 0.5 { t + 1.0 } else { t };
    r.copysign(x)
}

/// A distribution over non-negative reals. Parameters are in the caller's unit (milliseconds
/// for durations).
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    Fixed(f64),
    Uniform {
        low: f64,
        high: f64,
    },
    Exponential {
        mean: f64,
    },
    /// `ln X ~ Normal(mu, sigma)`.
    LogNormal {
        mu: f64,
        sigma: f64,
    },
    /// `P(X > x) = exp(-(x/scale)^shape)`.
    Weibull {
        shape: f64,
        scale: f64,
    },
    /// `P(X > x) = (scale/x)^shape` for `x >= scale`.
    Pareto {
        shape: f64,
        scale: f64,
    },
    /// Resamples the given values with linear interpolation between order statistics.
    Empirical {
        sorted: Vec<f64>,
    },
    /// A piecewise-linear quantile function through `(p, value)` points, `p` rising from 0 to
    /// 1 and values not falling.
    Quantiles {
        points: Vec<(f64, f64)>,
    },
}

impl Dist {
    pub fn sample(&self, r: &mut RandomStream) -> f64 {
        match self {
            Dist::Fixed(v) => *v,
            Dist::Uniform { low, high } => low + (high - low) * r.uniform(),
            Dist::Exponential { mean } => -mean * r.uniform().ln(),
            Dist::LogNormal { mu, sigma } => (mu + sigma * r.standard_normal()).exp(),
            Dist::Weibull { shape, scale } => scale * (-r.uniform().ln()).powf(1.0 / shape),
            Dist::Pareto { shape, scale } => scale / r.uniform().powf(1.0 / shape),
            Dist::Empirical { sorted } => quantile_of_sorted(sorted, r.uniform()),
            Dist::Quantiles { points } => quantile_of_points(points, r.uniform()),
        }
    }

    /// The distribution's mean, where finite.
    pub fn mean(&self) -> Option<f64> {
        Some(match self {
            Dist::Fixed(v) => *v,
            Dist::Uniform { low, high } => (low + high) / 2.0,
            Dist::Exponential { mean } => *mean,
            Dist::LogNormal { mu, sigma } => (mu + sigma * sigma / 2.0).exp(),
            Dist::Weibull { shape, scale } => scale * gamma(1.0 + 1.0 / shape),
            Dist::Pareto { shape, scale } => {
                if *shape <= 1.0 {
                    return None;
                }
                shape * scale / (shape - 1.0)
            }
            Dist::Empirical { sorted } => {
                // mean of the piecewise-linear quantile function
                if sorted.len() == 1 {
                    sorted[0]
                } else {
                    let n = (sorted.len() - 1) as f64;
                    sorted.windows(2).map(|w| (w[0] + w[1]) / 2.0).sum::<f64>() / n
                }
            }
            Dist::Quantiles { points } => points
                .windows(2)
                .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
                .sum(),
        })
    }

    /// The `p`-quantile (0 < p < 1).
    pub fn quantile(&self, p: f64) -> f64 {
        match self {
            Dist::Fixed(v) => *v,
            Dist::Uniform { low, high } => low + (high - low) * p,
            Dist::Exponential { mean } => -mean * (1.0 - p).ln(),
            Dist::LogNormal { mu, sigma } => (mu + sigma * normal_quantile(p)).exp(),
            Dist::Weibull { shape, scale } => scale * (-(1.0 - p).ln()).powf(1.0 / shape),
            Dist::Pareto { shape, scale } => scale / (1.0 - p).powf(1.0 / shape),
            Dist::Empirical { sorted } => quantile_of_sorted(sorted, p),
            Dist::Quantiles { points } => quantile_of_points(points, p),
        }
    }
}

/// Linear interpolation of a quantile function given at points `(p, value)`, `p` rising.
pub fn quantile_of_points(points: &[(f64, f64)], p: f64) -> f64 {
    match points.len() {
        0 => 0.0,
        1 => points[0].1,
        n => {
            let i = points.partition_point(|&(q, _)| q <= p).clamp(1, n - 1);
            let ((p0, v0), (p1, v1)) = (points[i - 1], points[i]);
            if p1 > p0 {
                v0 + (p.clamp(p0, p1) - p0) / (p1 - p0) * (v1 - v0)
            } else {
                v1
            }
        }
    }
}

/// Linear interpolation between order statistics (the "type 7" sample quantile).
pub fn quantile_of_sorted(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        n => {
            let h = p.clamp(0.0, 1.0) * (n - 1) as f64;
            let i = (h.floor() as usize).min(n - 2);
            sorted[i] + (h - i as f64) * (sorted[i + 1] - sorted[i])
        }
    }
}

/// Lanczos approximation of the gamma function (|rel. error| < 1e-13 for the arguments used).
pub fn gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        std::f64::consts::PI / ((std::f64::consts::PI * x).sin() * gamma(1.0 - x))
    } else {
        let x = x - 1.0;
        let mut a = C[0];
        let t = x + G + 0.5;
        for (i, c) in C.iter().enumerate().skip(1) {
            a += c / (x + i as f64);
        }
        (2.0 * std::f64::consts::PI).sqrt() * t.powf(x + 0.5) * (-t).exp() * a
    }
}

/// Standard normal quantile (Acklam's rational approximation, |rel. error| < 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p_low = 0.02425;
    if p < p_low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - p_low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_matches_std() {
        let mut xs = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            2.5,
            -2.5,
            0.49999999999999994,
            -0.49999999999999994,
            4503599627370495.5,
            4503599627370497.0,
            -4503599627370495.5,
            1e300,
            -1e300,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
            123456.49999999999,
        ];
        let mut rng = crate::engine::RngStreams::new(7).stream("round");
        for _ in 0..100_000 {
            let u = rng.uniform();
            xs.push((u - 0.5) * 1e7);
            xs.push(u * 3.0);
            xs.push((u * 1e6).floor() + 0.5);
        }
        for x in xs {
            assert_eq!(round(x).to_bits(), x.round().to_bits(), "{x:e}");
        }
        assert!(round(f64::NAN).is_nan());
    }
    use crate::engine::rng::RngStreams;

    fn check(d: Dist, n: usize, tol: f64) {
        let mut r = RngStreams::new(11).stream("dist");
        let mut xs: Vec<f64> = (0..n).map(|_| d.sample(&mut r)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let want = d.mean().unwrap();
        assert!(
            (mean - want).abs() / want < tol,
            "{d:?}: sample mean {mean}, expected {want}"
        );
        xs.sort_by(f64::total_cmp);
        for p in [0.1, 0.5, 0.9] {
            let got = quantile_of_sorted(&xs, p);
            let want = d.quantile(p);
            assert!(
                (got - want).abs() / want < tol,
                "{d:?}: q{p} sample {got}, expected {want}"
            );
        }
    }

    #[test]
    fn sample_means_and_quantiles_match() {
        check(Dist::Exponential { mean: 3600.0 }, 200_000, 0.02);
        check(
            Dist::LogNormal {
                mu: 1.0,
                sigma: 0.8,
            },
            200_000,
            0.02,
        );
        check(
            Dist::Weibull {
                shape: 0.7,
                scale: 100.0,
            },
            200_000,
            0.03,
        );
        check(
            Dist::Weibull {
                shape: 2.0,
                scale: 100.0,
            },
            200_000,
            0.02,
        );
        check(
            Dist::Pareto {
                shape: 3.0,
                scale: 10.0,
            },
            400_000,
            0.03,
        );
        check(
            Dist::Uniform {
                low: 30.0,
                high: 90.0,
            },
            100_000,
            0.01,
        );
        check(
            Dist::Empirical {
                sorted: vec![1.0, 2.0, 4.0, 8.0],
            },
            200_000,
            0.02,
        );
    }

    #[test]
    fn gamma_known_values() {
        assert!((gamma(5.0) - 24.0).abs() < 1e-9);
        assert!((gamma(0.5) - std::f64::consts::PI.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn normal_quantile_known_values() {
        assert!((normal_quantile(0.975) - 1.959_963_985).abs() < 1e-7);
        assert!(normal_quantile(0.5).abs() < 1e-12);
    }
}
