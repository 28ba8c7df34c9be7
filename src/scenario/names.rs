//! The scenario's zones and instance types by name: the one place a name the catalogue does
//! not have is refused, with the names it does have.

use crate::cloud::catalog::Catalog;
use crate::cloud::{TypeIdx, ZoneIdx};

use super::load::{Fail, ScenarioError};

/// Looks names up in the resolved catalogue; a miss is a mistake at `field`.
pub(super) struct Names<'a> {
    pub(super) cat: &'a Catalog,
    pub(super) fail: Fail<'a>,
}

impl Names<'_> {
    /// The zone named `name`, or ``unknown zone `x`; the scenario's zones are a, b``.
    pub(super) fn zone(&self, field: &str, name: &str) -> Result<ZoneIdx, ScenarioError> {
        self.cat.zone_index(name).ok_or_else(|| {
            let known: Vec<&str> = self.cat.zones.iter().map(|z| z.name.as_str()).collect();
            (self.fail)(
                field,
                format!(
                    "unknown zone `{name}`; the scenario's zones are {}",
                    known.join(", ")
                ),
            )
        })
    }

    /// The instance type named `name`, or ``unknown instance type `x`; the scenario's
    /// instance_types are a, b``.
    pub(super) fn itype(&self, field: &str, name: &str) -> Result<TypeIdx, ScenarioError> {
        self.cat.type_index(name).ok_or_else(|| {
            let known: Vec<&str> = self.cat.types.iter().map(|t| t.name.as_str()).collect();
            (self.fail)(
                field,
                format!(
                    "unknown instance type `{name}`; the scenario's instance_types are {}",
                    known.join(", ")
                ),
            )
        })
    }
}
