//! `[api]`: the rate limits (a preset, a total, per-action limits, the window) and how clients
//! retry.

use crate::cloud::Action;
use crate::cloud::ratelimit::{Limit, RateLimits, WindowKind};
use crate::workload::RetryPolicy;

use super::load::{Fail, ScenarioError};
use super::schema::{ScenarioFile, Window};

/// Parses `"100/1m"`: calls per period.
fn parse_limit(text: &str) -> Result<Limit, String> {
    let (n, per) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not a limit; write calls/period such as \"100/1m\""))?;
    let calls: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("`{text}`: `{n}` is not a whole number of calls"))?;
    let per = crate::engine::parse_duration(per)?;
    if calls == 0 || per.ms() == 0 {
        return Err(format!("`{text}`: calls and period must be above zero"));
    }
    Ok(Limit { calls, per })
}

/// The rate limits and the retry policy.
pub(super) fn resolve_api(
    f: &ScenarioFile,
    fail: Fail<'_>,
) -> Result<(RateLimits, RetryPolicy), ScenarioError> {
    let api = &f.api;
    let mut rate_limits = match api.preset.as_str() {
        "per-minute-2018" => RateLimits::per_minute_2018(),
        "per-second" => RateLimits::per_second_current(),
        "unlimited" => RateLimits::unlimited(),
        other => {
            return Err(fail(
                "api.preset",
                format!("unknown preset `{other}`; use per-minute-2018, per-second or unlimited"),
            ));
        }
    };
    rate_limits.window = match api.window {
        Window::Fixed => WindowKind::Fixed,
        Window::TokenBucket => WindowKind::TokenBucket,
    };
    if let Some(t) = &api.total {
        rate_limits.total = if t == "none" {
            None
        } else {
            Some(parse_limit(t).map_err(|m| fail("api.total", m))?)
        };
    }
    for (name, text) in &api.limits {
        let field = format!("api.limits.{name}");
        let action = Action::parse(name).ok_or_else(|| {
            fail(
                &field,
                format!("unknown action `{name}`; use CVM's names such as RunInstances"),
            )
        })?;
        let limit = parse_limit(text).map_err(|m| fail(&field, m))?;
        rate_limits.per_action.retain(|(a, _)| *a != action);
        rate_limits.per_action.push((action, limit));
    }
    if !(1..=crate::cloud::api::MAX_RUN_COUNT_LIMIT).contains(&api.max_instance_count) {
        return Err(fail(
            "api.max_instance_count",
            format!(
                "{} is outside 1..={} (RunInstances' InstanceCount range)",
                api.max_instance_count,
                crate::cloud::api::MAX_RUN_COUNT_LIMIT
            ),
        ));
    }
    if api.retry.max_attempts == 0 {
        return Err(fail(
            "api.retry.max_attempts",
            "must be at least 1 (the first attempt)".into(),
        ));
    }
    let retry = RetryPolicy {
        max_attempts: api.retry.max_attempts,
        base_delay: api.retry.base_delay.0,
        max_delay: api.retry.max_delay.0,
        jitter: api.retry.jitter,
    };
    Ok((rate_limits, retry))
}
