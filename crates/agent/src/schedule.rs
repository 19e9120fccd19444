//! When the agent runs: once, or every interval (`30m`, `6h`, `1d`) with jitter, until Ctrl-C or SIGTERM.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// The shortest interval accepted: a collection reads every package database, so more often is waste.
pub const MIN_INTERVAL: Duration = Duration::from_secs(60);

/// The longest interval accepted.
pub const MAX_INTERVAL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Each wait is the interval plus or minus this fraction of it, so that agents started together (a fleet
/// booted at once) spread their reports out.
pub const JITTER: f64 = 0.1;

/// Why an interval was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid interval {input:?}: {message}")]
pub struct IntervalError {
    /// The text given.
    pub input: String,
    /// What is wrong with it.
    pub message: String,
}

/// Parses an interval such as `30m`, `6h`, `1d` or `1h30m` (units `s`, `m`, `h`, `d`), between
/// [`MIN_INTERVAL`] and [`MAX_INTERVAL`].
pub fn parse_interval(input: &str) -> Result<Duration, IntervalError> {
    let error = |message: &str| IntervalError {
        input: input.to_string(),
        message: message.to_string(),
    };
    let text = input.trim();
    if text.is_empty() {
        return Err(error("empty; give a number with a unit, such as 6h"));
    }
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(error("expected a number, such as the 6 of 6h"));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| error("the number is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let seconds = match rest[..unit_len].trim() {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "" => return Err(error("a number needs a unit: s, m, h or d (6h, 30m)")),
            _ => return Err(error("units are s, m, h and d (6h, 30m, 1d)")),
        };
        rest = &rest[unit_len..];
        total = number
            .checked_mul(seconds)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| error("the interval is too long"))?;
    }
    let interval = Duration::from_secs(total);
    if interval < MIN_INTERVAL {
        return Err(error("the shortest interval is 1m"));
    }
    if interval > MAX_INTERVAL {
        return Err(error("the longest interval is 30d"));
    }
    Ok(interval)
}

/// The interval scaled by `1 + JITTER * (2u - 1)` for a `u` in [0, 1): within ±10 % of it.
pub fn jittered(interval: Duration, u: f64) -> Duration {
    let factor = 1.0 + JITTER * (2.0 * u.clamp(0.0, 1.0) - 1.0);
    interval.mul_f64(factor)
}

/// A number in [0, 1) that differs between processes and calls (from the standard library's randomly
/// seeded hasher, so that no random-number crate is needed for a jitter).
pub(crate) fn random_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM (what systemd sends to stop a service).
pub(crate) async fn stop_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        let got = match parse_interval(input) {
            Ok(d) => format!("{}s", d.as_secs()),
            Err(e) => e.message,
        };
        assert_eq!(got, expected, "{input}");
    }

    #[test]
    fn intervals() {
        check("30m", "1800s");
        check("6h", "21600s");
        check("1d", "86400s");
        check("1h30m", "5400s");
        check(" 90s ", "90s");
        check("1h 30m", "5400s");
        check("30", "a number needs a unit: s, m, h or d (6h, 30m)");
        check("6 hours", "units are s, m, h and d (6h, 30m, 1d)");
        check("h", "expected a number, such as the 6 of 6h");
        check("", "empty; give a number with a unit, such as 6h");
        check("30s", "the shortest interval is 1m");
        check("0m", "the shortest interval is 1m");
        check("31d", "the longest interval is 30d");
        check("99999999999999999999d", "the number is too large");
        check("9999999999999999d", "the interval is too long");
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let hour = Duration::from_secs(3600);
        assert_eq!(jittered(hour, 0.0), Duration::from_secs(3240));
        assert_eq!(jittered(hour, 0.5), hour);
        assert_eq!(jittered(hour, 1.0), Duration::from_secs(3960));
        for _ in 0..100 {
            let u = random_unit();
            assert!((0.0..1.0).contains(&u), "{u}");
        }
    }
}
