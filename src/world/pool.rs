//! The buyer of a prepaid pool (`Owner::Pool`): a `compare` strategy's base of prepaid
//! instances, bought at the start of the run and shared by the workloads it serves (they
//! place jobs on its idle instances without an API call, see the workload client).

use crate::cloud::api::Observer;
use crate::cloud::{ChargeType, RenewFlag, Request, Response, RunInstances};

use super::actor::{Actor, Ctx};

/// What the pool's buyer is asked to do.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PoolEvent {
    /// Buy the pool's instances now.
    Buy,
}

/// The buyer of the shared prepaid pool.
#[derive(Default)]
pub struct PoolBuyer;

impl Actor for PoolBuyer {
    type Event = PoolEvent;
    type Reply = ();

    /// Buys the pool (if the run has one), in calls of at most `[api] max_instance_count`
    /// instances; what each call launched joins the pool.
    fn handle<O: Observer>(&mut self, PoolEvent::Buy: PoolEvent, ctx: &mut Ctx<'_, O>) {
        let max_count = ctx.cloud().max_run_count;
        let Some(pool) = ctx.pool() else {
            return;
        };
        let orders = pool.orders();
        let months = pool.period_months;
        for (zone, itype, mut n) in orders {
            while n > 0 {
                let count = n.min(max_count);
                n -= count;
                let req = Request::RunInstances(RunInstances {
                    zone,
                    itype,
                    charge: ChargeType::Prepaid,
                    count,
                    min_count: Some(1),
                    dry_run: false,
                    period_months: months,
                    renew_flag: RenewFlag::NotifyAndAutoRenew,
                    max_price: None,
                    client_token: None,
                    attach: None,
                });
                if let Ok(Response::Launched { ids, .. }) = ctx.call(req)
                    && let Some(pool) = ctx.pool()
                {
                    for id in ids {
                        pool.add(zone, itype, id);
                    }
                }
            }
        }
    }
}
