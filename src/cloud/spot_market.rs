//! The spot market price per zone and instance type. Spot instances are billed at the market
//! price, not at their bid. The price is constant over steps of fixed length (default one hour),
//! so billing splits an interval exactly at step boundaries.
//!
//! Each zone and type has its own random stream (`spot:<zone>:<type>`), and its path is drawn
//! lazily in step order, so the price path never depends on which instance asks first.

use crate::engine::{RandomStream, RngStreams, SimDuration, SimTime};

use super::catalog::{Catalog, TypeIdx, ZoneIdx};

/// How the market price moves.
#[derive(Clone, Debug, PartialEq)]
pub enum SpotModel {
    /// Always `fraction` of the postpaid price.
    Constant { fraction: f64 },
    /// A mean-reverting random walk of the fraction, kept within `[min, max]`:
    /// `f' = clamp(f + reversion·(mean − f) + volatility·N(0,1))`, starting at `mean`.
    Random {
        min: f64,
        max: f64,
        mean: f64,
        volatility: f64,
        reversion: f64,
    },
}

#[derive(Clone, Debug)]
pub struct SpotMarket {
    model: SpotModel,
    step_ms: u64,
    types: usize,
    /// Postpaid hourly price of each type, micro-CNY.
    postpaid: Vec<u64>,
    /// Price path per zone and type: `paths[z * types + t][k]` is the price in step `k`.
    paths: Vec<Vec<u64>>,
    /// Current fraction of each path (random model).
    fraction: Vec<f64>,
    rngs: Vec<RandomStream>,
}

impl SpotMarket {
    pub fn new(cat: &Catalog, model: SpotModel, step: SimDuration, streams: &RngStreams) -> Self {
        let types = cat.types.len();
        let n = cat.zones.len() * types;
        let start = match &model {
            SpotModel::Constant { fraction } => *fraction,
            SpotModel::Random { mean, .. } => *mean,
        };
        let mut rngs = Vec::with_capacity(n);
        for z in &cat.zones {
            for t in &cat.types {
                rngs.push(streams.stream(&format!("spot:{}:{}", z.name, t.name)));
            }
        }
        SpotMarket {
            model,
            step_ms: step.ms().max(1),
            types,
            postpaid: cat.prices.iter().map(|p| p.postpaid_hourly).collect(),
            paths: vec![Vec::new(); n],
            fraction: vec![start; n],
            rngs,
        }
    }

    pub fn step_ms(&self) -> u64 {
        self.step_ms
    }

    /// Market price per hour (micro-CNY) during step `k`.
    pub fn price_in_step(&mut self, z: ZoneIdx, t: TypeIdx, k: u64) -> u64 {
        let i = z.0 as usize * self.types + t.0 as usize;
        if let Some(&p) = self.paths[i].get(k as usize) {
            return p; // already drawn: the common case, a piece of an interval being billed
        }
        let base = self.postpaid[t.0 as usize] as f64;
        if let SpotModel::Constant { fraction } = self.model {
            return crate::engine::dist::round(base * fraction) as u64;
        }
        while self.paths[i].len() as u64 <= k {
            if let SpotModel::Random {
                min,
                max,
                mean,
                volatility,
                reversion,
            } = self.model
                && !self.paths[i].is_empty()
            {
                let f = self.fraction[i];
                let step = reversion * (mean - f) + volatility * self.rngs[i].standard_normal();
                self.fraction[i] = (f + step).clamp(min, max);
            }
            let p = crate::engine::dist::round(base * self.fraction[i]) as u64;
            self.paths[i].push(p);
        }
        self.paths[i][k as usize]
    }

    /// Market price per hour at `t`.
    pub fn price_at(&mut self, z: ZoneIdx, ty: TypeIdx, t: SimTime) -> u64 {
        self.price_in_step(z, ty, t.ms() / self.step_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::catalog::Zone;
    use crate::cloud::catalog::{illustrative_price, parse_instance_type};

    fn catalog() -> Catalog {
        let t = parse_instance_type("S5.MEDIUM4").unwrap();
        Catalog {
            zones: vec![
                Zone {
                    name: "ap-guangzhou-3".into(),
                    zone_id: 100003,
                    region: "ap-guangzhou".into(),
                },
                Zone {
                    name: "ap-guangzhou-4".into(),
                    zone_id: 100004,
                    region: "ap-guangzhou".into(),
                },
            ],
            prices: vec![illustrative_price(&t)],
            types: vec![t],
            spot_fraction: 0.2,
            disk_gib_hourly: 0,
            disk_gib: 0,
            attach: Default::default(),
            currency: "CNY".into(),
        }
    }

    #[test]
    fn random_prices_stay_within_bounds_and_do_not_depend_on_query_order() {
        let cat = catalog();
        let model = SpotModel::Random {
            min: 0.03,
            max: 0.2,
            mean: 0.1,
            volatility: 0.02,
            reversion: 0.1,
        };
        let streams = RngStreams::new(5);
        let mut a = SpotMarket::new(&cat, model.clone(), SimDuration::from_hours(1), &streams);
        let mut b = SpotMarket::new(&cat, model, SimDuration::from_hours(1), &streams);
        let base = cat.prices[0].postpaid_hourly as f64;
        let (z0, z1, t) = (ZoneIdx(0), ZoneIdx(1), TypeIdx(0));
        let fwd: Vec<u64> = (0..500).map(|k| a.price_in_step(z0, t, k)).collect();
        // b asks the other zone first and the steps backwards
        for k in (0..500).rev() {
            b.price_in_step(z1, t, k);
        }
        let back: Vec<u64> = (0..500).map(|k| b.price_in_step(z0, t, k)).collect();
        assert_eq!(fwd, back);
        for p in &fwd {
            let f = *p as f64 / base;
            assert!((0.0299..=0.2001).contains(&f), "{f}");
        }
        assert!(fwd.windows(2).any(|w| w[0] != w[1]), "the price moves");
    }
}
