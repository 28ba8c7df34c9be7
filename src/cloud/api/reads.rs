//! The read actions: DescribeInstances (Limit/Offset, InstanceIds.N or Filters),
//! DescribeAccountQuota and DescribeZoneInstanceConfigInfos.

use super::*;

impl Cloud {
    pub(super) fn describe_instances(
        &self,
        ids: &[InstanceRef],
        filters: &[Filter],
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
        if !ids.is_empty() && !filters.is_empty() {
            return Err(ApiError::new(
                ErrorCode::InvalidParameter,
                "InstanceIds and Filters cannot be given together",
            ));
        }
        if ids.len() > MAX_IDS_PER_CALL {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValueLimitExceeded,
                format!("{} ids given, at most {MAX_IDS_PER_CALL}", ids.len()),
            ));
        }
        if filters.len() > 10 {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValueLimitExceeded,
                format!("{} filters given, at most 10", filters.len()),
            ));
        }
        if let Some(f) = filters.iter().find(|f| f.values.len() > 5) {
            return Err(ApiError::new(
                ErrorCode::InvalidFilterValueLimitExceeded,
                format!(
                    "filter `{}` has {} values, at most 5",
                    f.name,
                    f.values.len()
                ),
            ));
        }
        for f in filters {
            if !matches!(
                f.name.as_str(),
                "zone"
                    | "instance-state"
                    | "instance-charge-type"
                    | "instance-type"
                    | "instance-id"
            ) {
                return Err(ApiError::new(
                    ErrorCode::InvalidFilter,
                    format!("unknown filter `{}`", f.name),
                ));
            }
        }
        let wanted: Vec<InstanceId> = ids.iter().map(Self::parse_ref).collect::<Result<_, _>>()?;
        let matches = |inst: &Instance| -> bool {
            if !wanted.is_empty() {
                return wanted.contains(&inst.id);
            }
            filters.iter().all(|f| {
                let v = match f.name.as_str() {
                    "zone" => self.catalog.zone(inst.zone).name.clone(),
                    "instance-state" => inst.state.as_str().to_string(),
                    "instance-charge-type" => inst.charge.as_str().to_string(),
                    "instance-type" => self.catalog.itype(inst.itype).name.clone(),
                    _ => inst.id.to_string(),
                };
                f.values.contains(&v)
            })
        };
        let mut total = 0u32;
        let mut items = Vec::new();
        for (_, inst) in self.fleet.iter() {
            if matches(inst) {
                if total >= offset && items.len() < limit as usize {
                    items.push(InstanceView {
                        id: inst.id,
                        zone: inst.zone,
                        itype: inst.itype,
                        charge: inst.charge,
                        state: inst.state,
                        latest_operation: inst.latest_operation.as_str(),
                        latest_operation_state: inst.latest_operation_state,
                    });
                }
                total += 1;
            }
        }
        Ok(Response::Instances { total, items })
    }

    /// DescribeAccountQuota: used, remaining and total per zone and charge type.
    pub(super) fn describe_account_quota(
        &self,
        zone: Option<ZoneIdx>,
    ) -> Result<Response, ApiError> {
        Ok(Response::Quotas(
            self.zone_list(zone)
                .flat_map(|z| ChargeType::ALL.map(|c| (z, c)))
                .map(|(z, c)| QuotaView {
                    zone: z,
                    charge: c,
                    used: self.quotas.used(z, c),
                    remaining: self.quotas.total(z, c).map(|_| self.quotas.remaining(z, c)),
                    total: self.quotas.total(z, c),
                    once: (c == ChargeType::Prepaid)
                        .then(|| self.quotas.once(z))
                        .flatten(),
                })
                .collect(),
        ))
    }

    /// DescribeZoneInstanceConfigInfos: whether each type sells in each zone.
    pub(super) fn describe_zone_configs(
        &self,
        zone: Option<ZoneIdx>,
    ) -> Result<Response, ApiError> {
        Ok(Response::Configs(
            self.zone_list(zone)
                .flat_map(|z| (0..self.catalog.types.len()).map(move |t| (z, TypeIdx(t as u16))))
                .map(|(z, t)| ConfigView {
                    zone: z,
                    itype: t,
                    status: self.stock.status(z, t),
                })
                .collect(),
        ))
    }
}
