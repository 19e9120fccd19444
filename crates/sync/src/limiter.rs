//! A rolling-window rate limiter (at most N requests in any window of length T), as NVD counts its
//! limits, driven by an injected clock and sleeper.

use std::collections::VecDeque;
use std::time::Duration;

use bulwark_core::Clock;
use chrono::{DateTime, Utc};

use crate::time::Sleeper;

/// A request budget: at most `requests` requests in any rolling window of `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed in one window.
    pub requests: usize,
    /// The window's length.
    pub per: Duration,
}

impl RateLimit {
    /// NVD's published limit for clients without an API key: 5 requests in a rolling 30 seconds.
    pub const NVD_WITHOUT_KEY: RateLimit = RateLimit {
        requests: 5,
        per: Duration::from_secs(30),
    };
    /// NVD's published limit for clients with an API key: 50 requests in a rolling 30 seconds.
    pub const NVD_WITH_KEY: RateLimit = RateLimit {
        requests: 50,
        per: Duration::from_secs(30),
    };
}

/// Admits requests so that no window of [`RateLimit::per`] holds more than [`RateLimit::requests`] of
/// them, waiting through the [`Sleeper`] when the budget is spent.
pub struct RateLimiter<'a> {
    limit: RateLimit,
    clock: &'a dyn Clock,
    sleeper: &'a dyn Sleeper,
    /// Start times of the requests still inside the window, oldest first.
    sent: VecDeque<DateTime<Utc>>,
}

impl<'a> RateLimiter<'a> {
    /// A limiter with an empty history.
    pub fn new(limit: RateLimit, clock: &'a dyn Clock, sleeper: &'a dyn Sleeper) -> Self {
        RateLimiter {
            limit,
            clock,
            sleeper,
            sent: VecDeque::with_capacity(limit.requests),
        }
    }

    /// Waits until one more request fits in the window, then counts it as sent now. Returns the time
    /// waited (zero while the budget lasts).
    pub async fn acquire(&mut self) -> Duration {
        let per = chrono::Duration::from_std(self.limit.per).unwrap_or(chrono::Duration::MAX);
        let mut waited = Duration::ZERO;
        loop {
            let now = self.clock.now();
            while self.sent.front().is_some_and(|&t| t + per <= now) {
                self.sent.pop_front();
            }
            // A zero budget would never admit anything; treat it as one request per window.
            if self.sent.len() < self.limit.requests.max(1) {
                self.sent.push_back(now);
                return waited;
            }
            let frees_at = self.sent[0] + per;
            let wait = (frees_at - now).to_std().unwrap_or(Duration::ZERO);
            tracing::info!(?wait, "rate limit reached, waiting");
            self.sleeper.sleep(wait).await;
            waited += wait;
        }
    }
}
