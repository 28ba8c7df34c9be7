//! The parameter and instance checks an action shares with the inquiry that prices it: an
//! InquiryPrice* call refuses exactly what its action would refuse, so both run these.

use super::*;

impl Cloud {
    /// `ClientToken`: at most 64 characters (errorcodes.py: 必须小于等于64字节).
    pub(super) fn check_client_token(r: &RunInstances) -> Result<(), ApiError> {
        if let Some(t) = &r.client_token
            && t.len() > 64
        {
            return Err(ApiError::new(
                ErrorCode::InvalidClientTokenTooLong,
                format!("ClientToken is {} characters, at most 64", t.len()),
            ));
        }
        Ok(())
    }

    /// RunInstances' counts, bandwidth charge and period.
    pub(super) fn check_run(&self, r: &RunInstances) -> Result<(), ApiError> {
        if r.count == 0 || r.count > self.max_run_count {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValueRange,
                format!(
                    "InstanceCount {} is outside 1..={}",
                    r.count, self.max_run_count
                ),
            ));
        }
        let min = r.min_count.unwrap_or(r.count);
        if min == 0 {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValueRange,
                "MinCount 0 is outside 1..=InstanceCount",
            ));
        }
        if min > r.count {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterMinCount,
                format!("MinCount {min} is above InstanceCount {}", r.count),
            ));
        }
        if r.charge != ChargeType::Prepaid
            && let Some(net) = r.attach.as_deref().and_then(|a| a.internet)
            && net.charge == crate::cloud::pricing::InternetChargeType::BandwidthPrepaid
        {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                format!(
                    "InternetChargeType BANDWIDTH_PREPAID needs a PREPAID instance, not {}",
                    r.charge
                ),
            ));
        }
        if r.charge == ChargeType::Prepaid {
            self.check_period(r.period_months)?;
        }
        Ok(())
    }

    /// A prepaid period CVM sells.
    pub(super) fn check_period(&self, months: u32) -> Result<(), ApiError> {
        if !self.rules.valid_period(months) {
            return Err(ApiError::new(
                ErrorCode::InvalidPeriod,
                format!("Period {months} is not an offered prepaid period"),
            ));
        }
        Ok(())
    }

    /// ResetInstancesType's checks of the one instance at `key` and its new type `to`: not
    /// stopped without charging, not spot, another type, a zone that is up and stock for it.
    pub(super) fn check_reset(
        &self,
        action: Action,
        key: InstanceKey,
        to: TypeIdx,
    ) -> Result<(), ApiError> {
        let inst = self.fleet.live(key);
        // An instance stopped without charging accepts only StartInstances; ResetInstancesType
        // lists a code of its own for a resize within the family
        // ("不支持关机不收费机器做同类型变配操作").
        if inst.state == InstanceState::Stopped && inst.stopped_mode() == StoppedMode::StopCharging
        {
            let same_family =
                self.catalog.itype(inst.itype).family == self.catalog.itype(to).family;
            return Err(ApiError::new(
                if same_family {
                    ErrorCode::StoppedModeStopChargingSameFamily
                } else {
                    ErrorCode::StoppedModeStopCharging
                },
                format!(
                    "{} is stopped without charging: only StartInstances applies",
                    inst.id
                ),
            ));
        }
        // Spot instances cannot be reconfigured; ResetInstancesType's list has no charge-type
        // code, its "not for this instance" one says so.
        if inst.charge == ChargeType::Spotpaid {
            return Err(ApiError::new(
                ErrorCode::InvalidInstanceNotSupported,
                format!(
                    "{} is SPOTPAID: spot instances cannot be reconfigured",
                    inst.id
                ),
            ));
        }
        if inst.itype == to {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                format!("{} is already {}", inst.id, self.catalog.itype(to).name),
            ));
        }
        self.zone_outage_check(action, inst.zone)?;
        let answer = self.stock.ask(inst.zone, to, 1);
        if answer != StockAnswer::Available {
            return Err(self.stock_error(inst.zone, to, answer));
        }
        Ok(())
    }

    /// ModifyInstancesChargeType's target: PREPAID (for a period CVM sells) or POSTPAID.
    pub(super) fn check_charge_target(&self, to: ChargeType, months: u32) -> Result<(), ApiError> {
        if to == ChargeType::Spotpaid {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                "InstanceChargeType must be PREPAID or POSTPAID_BY_HOUR",
            ));
        }
        if to == ChargeType::Prepaid {
            self.check_period(months)?;
        }
        Ok(())
    }

    /// ModifyInstancesChargeType's checks of one instance: not spot, not stopped without
    /// charging, not already `to`.
    pub(super) fn check_charge_change(
        &self,
        key: InstanceKey,
        to: ChargeType,
    ) -> Result<(), ApiError> {
        let inst = self.fleet.live(key);
        if inst.charge == ChargeType::Spotpaid {
            return Err(ApiError::new(
                ErrorCode::UnsupportedChargeType,
                format!("{} is SPOTPAID and cannot change charge type", inst.id),
            ));
        }
        // "关机不收费的实例…不支持该操作" (ModifyInstancesChargeType's documentation).
        if inst.state == InstanceState::Stopped && inst.stopped_mode() == StoppedMode::StopCharging
        {
            return Err(ApiError::new(
                ErrorCode::InvalidInstanceNotSupported,
                format!(
                    "{} is stopped without charging: only StartInstances applies",
                    inst.id
                ),
            ));
        }
        if inst.charge == to {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                format!("{} is already {to}", inst.id),
            ));
        }
        Ok(())
    }

    /// TerminateInstances (and its refund quote) takes instances of one charge type per call.
    pub(super) fn check_one_charge_type(&self, keys: &[InstanceKey]) -> Result<(), ApiError> {
        let first = self.fleet.live(keys[0]).charge;
        if keys.iter().any(|&k| self.fleet.live(k).charge != first) {
            return Err(ApiError::new(
                ErrorCode::InstanceMixedPricingModel,
                "TerminateInstances takes instances of one charge type per call",
            ));
        }
        Ok(())
    }
}
