//! CVM's own error codes, as the API returns them.

use std::fmt;

use super::state::InstanceState;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum ErrorCode {
    RequestLimitExceeded,
    InvalidInstanceIdNotFound,
    InvalidInstanceIdMalformed,
    InvalidParameterValueLimitExceeded,
    InvalidParameterValue,
    InvalidParameter,
    InvalidPeriod,
    InvalidZone,
    InvalidInstanceType,
    /// The instance is in a state the action does not accept.
    InstanceState(InstanceState),
    OperationInProgress,
    StoppedModeStopCharging,
    UnsupportedChargeType,
    InstanceQuota,
    PrepayQuota,
    SpotQuota,
    ResourceInsufficientType,
    SoldOutType,
    ZoneSoldOut,
    TypeUnavailable,
    DryRunOperation,
    /// A spot bid (`MaxPrice`) below the market price: `InvalidParameterValue.InsufficientPrice`.
    InsufficientPrice,
    /// The account's yearly self-service returns of prepaid instances are used up.
    UserReturnQuota,
    /// A prepaid instance has had all the downgrades CVM allows (no code is documented for
    /// it; this one's text, "用户限额操作的配额不足", says what happened).
    LimitOperationQuota,
    /// The action does not apply to this instance (e.g. a renew flag on a postpaid one).
    InvalidInstanceNotSupported,
    /// A DescribeInstances filter name the action does not know.
    InvalidFilter,
    /// A filter with more values than allowed.
    InvalidFilterValueLimitExceeded,
    /// A number outside its documented range (InstanceCount, MinCount).
    InvalidParameterValueRange,
    /// `ClientToken` longer than 64 characters.
    InvalidClientTokenTooLong,
    /// `MinCount` above `InstanceCount`.
    InvalidParameterMinCount,
    /// The zone's stock cannot deliver even `MinCount` instances.
    InsufficientOfferingMinimum,
    /// TerminateInstances naming instances of more than one charge type.
    InstanceMixedPricingModel,
    /// The generic refusal, for an instance whose state has no code of its own in the
    /// action's list.
    UnsupportedOperation,
    /// ResetInstancesType within its family on an instance stopped without charging.
    StoppedModeStopChargingSameFamily,
    /// The zone takes nothing now (an outage), as ResetInstancesType's list says it:
    /// `ResourcesSoldOut.AvailableZone`.
    SoldOutZone,
    /// InquiryPriceTerminateInstances: the instance cannot be returned now (the account's
    /// self-service returns of the year are used up; TerminateInstances would answer
    /// `LimitExceeded.UserReturnQuota`, which the inquiry's documented codes do not have).
    Unreturnable,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        use ErrorCode as E;
        use InstanceState as S;
        match self {
            E::RequestLimitExceeded => "RequestLimitExceeded",
            E::InvalidInstanceIdNotFound => "InvalidInstanceId.NotFound",
            E::InvalidInstanceIdMalformed => "InvalidInstanceId.Malformed",
            E::InvalidParameterValueLimitExceeded => "InvalidParameterValue.LimitExceeded",
            E::InvalidParameterValue => "InvalidParameterValue",
            E::InvalidParameter => "InvalidParameter",
            E::InvalidPeriod => "InvalidPeriod",
            E::InvalidZone => "InvalidZone.MismatchRegion",
            E::InvalidInstanceType => "InvalidParameterValue.InstanceTypeNotFound",
            E::InstanceState(s) => match s {
                S::Pending => "UnsupportedOperation.InstanceStatePending",
                S::LaunchFailed => "UnsupportedOperation.InstanceStateLaunchFailed",
                S::Running => "UnsupportedOperation.InstanceStateRunning",
                S::Stopped => "UnsupportedOperation.InstanceStateStopped",
                S::Starting => "UnsupportedOperation.InstanceStateStarting",
                S::Stopping => "UnsupportedOperation.InstanceStateStopping",
                S::Rebooting => "UnsupportedOperation.InstanceStateRebooting",
                S::Shutdown => "UnsupportedOperation.InstanceStateShutdown",
                S::Terminating => "UnsupportedOperation.InstanceStateTerminating",
            },
            E::OperationInProgress => "OperationDenied.InstanceOperationInProgress",
            E::StoppedModeStopCharging => "UnsupportedOperation.StoppedModeStopCharging",
            E::UnsupportedChargeType => "UnsupportedOperation.InstanceChargeType",
            E::InstanceQuota => "LimitExceeded.InstanceQuota",
            E::PrepayQuota => "LimitExceeded.PrepayQuota",
            E::SpotQuota => "LimitExceeded.SpotQuota",
            E::ResourceInsufficientType => "ResourceInsufficient.SpecifiedInstanceType",
            E::SoldOutType => "ResourcesSoldOut.SpecifiedInstanceType",
            E::ZoneSoldOut => "ResourceInsufficient.AvailabilityZoneSoldOut",
            E::TypeUnavailable => "ResourceUnavailable.InstanceType",
            E::DryRunOperation => "DryRunOperation",
            E::InsufficientPrice => "InvalidParameterValue.InsufficientPrice",
            E::UserReturnQuota => "LimitExceeded.UserReturnQuota",
            E::LimitOperationQuota => "UnsupportedOperation.UserLimitOperationExceedQuota",
            E::InvalidInstanceNotSupported => "InvalidInstance.NotSupported",
            E::InvalidFilter => "InvalidFilter",
            E::InvalidFilterValueLimitExceeded => "InvalidFilterValue.LimitExceeded",
            E::InvalidParameterValueRange => "InvalidParameterValue.Range",
            E::InvalidClientTokenTooLong => "InvalidClientToken.TooLong",
            E::InvalidParameterMinCount => "InvalidParameterValue.InvalidParameterMinCount",
            E::InsufficientOfferingMinimum => "ResourceInsufficient.InsufficientOfferingMinimum",
            E::InstanceMixedPricingModel => "UnsupportedOperation.InstanceMixedPricingModel",
            E::UnsupportedOperation => "UnsupportedOperation",
            E::StoppedModeStopChargingSameFamily => {
                "UnsupportedOperation.StoppedModeStopChargingSameFamily"
            }
            E::SoldOutZone => "ResourcesSoldOut.AvailableZone",
            E::Unreturnable => "FailedOperation.Unreturnable",
        }
    }

    /// Every code fleetsim can produce (each state's own code included), for the tests that
    /// hold them against the SDK's lists.
    pub fn all() -> Vec<ErrorCode> {
        use ErrorCode as E;
        let mut v = vec![
            E::RequestLimitExceeded,
            E::InvalidInstanceIdNotFound,
            E::InvalidInstanceIdMalformed,
            E::InvalidParameterValueLimitExceeded,
            E::InvalidParameterValue,
            E::InvalidParameter,
            E::InvalidPeriod,
            E::InvalidZone,
            E::InvalidInstanceType,
            E::OperationInProgress,
            E::StoppedModeStopCharging,
            E::UnsupportedChargeType,
            E::InstanceQuota,
            E::PrepayQuota,
            E::SpotQuota,
            E::ResourceInsufficientType,
            E::SoldOutType,
            E::ZoneSoldOut,
            E::TypeUnavailable,
            E::DryRunOperation,
            E::InsufficientPrice,
            E::UserReturnQuota,
            E::LimitOperationQuota,
            E::InvalidInstanceNotSupported,
            E::InvalidFilter,
            E::InvalidFilterValueLimitExceeded,
            E::InvalidParameterValueRange,
            E::InvalidClientTokenTooLong,
            E::InvalidParameterMinCount,
            E::InsufficientOfferingMinimum,
            E::InstanceMixedPricingModel,
            E::UnsupportedOperation,
            E::StoppedModeStopChargingSameFamily,
            E::SoldOutZone,
            E::Unreturnable,
        ];
        v.extend(InstanceState::ALL.map(E::InstanceState));
        v
    }

    /// Whether a well-behaved client retries this error after a backoff (throttling and
    /// transient capacity), as the official SDKs do for RequestLimitExceeded. An instance in
    /// a transient state (`…InstanceStateStopping`) is an operation still in progress: the
    /// same call succeeds once it lands, so it is retried like
    /// `OperationDenied.InstanceOperationInProgress`.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ErrorCode::RequestLimitExceeded
                | ErrorCode::OperationInProgress
                | ErrorCode::ResourceInsufficientType
                | ErrorCode::InsufficientOfferingMinimum
        ) || matches!(self, ErrorCode::InstanceState(s) if s.is_transient())
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected call: CVM's code and a human message.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}
