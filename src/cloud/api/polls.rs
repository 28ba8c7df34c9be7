//! What a client polls besides DescribeInstances (DescribeInstancesStatus, DescribeZones,
//! DescribeRegions, DescribeInstanceTypeConfigs), and ModifyInstancesRenewFlag.

use super::*;

impl Cloud {
    /// DescribeInstancesStatus: (id, state) of the named instances, or a page of all of them,
    /// in id order. An id that names no instance is left out, as DescribeInstances does.
    pub(super) fn describe_instances_status(
        &self,
        ids: &[InstanceRef],
        zones: &[ZoneIdx],
        offset: u32,
        limit: Option<u32>,
    ) -> Result<Response, ApiError> {
        let limit = limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValue,
                format!("Limit {limit} is outside 1..=100"),
            ));
        }
        if ids.len() > MAX_IDS_PER_CALL {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValueLimitExceeded,
                format!("{} ids given, at most {MAX_IDS_PER_CALL}", ids.len()),
            ));
        }
        let wanted: Vec<InstanceId> = ids.iter().map(Self::parse_ref).collect::<Result<_, _>>()?;
        let mut total = 0u32;
        let mut items = Vec::new();
        for (_, inst) in self.fleet.iter() {
            let named = wanted.is_empty() || wanted.contains(&inst.id);
            if named && (zones.is_empty() || zones.contains(&inst.zone)) {
                if total >= offset && items.len() < limit as usize {
                    items.push((inst.id, inst.state));
                }
                total += 1;
            }
        }
        Ok(Response::Statuses { total, items })
    }

    /// ModifyInstancesRenewFlag: the flag of prepaid instances that are RUNNING or STOPPED;
    /// it takes effect at the next expiry (NOTIFY_AND_AUTO_RENEW renews a month).
    pub(super) fn modify_renew_flag(
        &mut self,
        ids: &[InstanceRef],
        flag: RenewFlag,
    ) -> Result<Response, ApiError> {
        use InstanceState as S;
        let keys = self.resolve(
            Action::ModifyInstancesRenewFlag,
            ids,
            &[S::Running, S::Stopped],
        )?;
        for &k in &keys {
            let inst = self.fleet.live(k);
            if inst.charge != ChargeType::Prepaid {
                return Err(ApiError::new(
                    ErrorCode::InvalidInstanceNotSupported,
                    format!(
                        "{} is {}: only PREPAID instances have a renew flag",
                        inst.id, inst.charge
                    ),
                ));
            }
        }
        for &k in &keys {
            self.fleet.live_mut(k).renew_flag = flag;
            self.mark(
                k,
                Operation::ModifyInstancesRenewFlag,
                OperationState::Success,
            );
        }
        Ok(Response::Accepted)
    }

    /// DescribeZones: every zone of the account; a zone in an outage is UNAVAILABLE.
    pub(super) fn describe_zones(&self) -> Result<Response, ApiError> {
        Ok(Response::Zones(
            self.zone_list(None)
                .map(|z| ZoneView {
                    zone: z,
                    available: !self.zone_is_down(z),
                })
                .collect(),
        ))
    }

    /// DescribeRegions: the regions of the account's zones, sorted.
    pub(super) fn describe_regions(&self) -> Result<Response, ApiError> {
        let mut regions: Vec<String> = self
            .catalog
            .zones
            .iter()
            .map(|z| z.region.clone())
            .collect();
        regions.sort();
        regions.dedup();
        Ok(Response::Regions(regions))
    }

    /// DescribeInstanceTypeConfigs: the types offered in each zone (sold out or not: the
    /// configuration exists; DescribeZoneInstanceConfigInfos says whether it sells now).
    pub(super) fn describe_type_configs(
        &self,
        zone: Option<ZoneIdx>,
    ) -> Result<Response, ApiError> {
        Ok(Response::TypeConfigs(
            self.zone_list(zone)
                .flat_map(|z| (0..self.catalog.types.len()).map(move |t| (z, TypeIdx(t as u16))))
                .filter(|&(z, t)| self.stock.offered(z, t))
                .collect(),
        ))
    }
}
