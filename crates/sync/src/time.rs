//! Waiting, injected: the `Sleeper` trait and the Tokio implementation, so that rate limits and retry
//! back-off are tested with a fake clock instead of real waits.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// Something that waits. Rate limiting and retry back-off wait only through this trait, so a test can
/// advance a fake [`Clock`](bulwark_core::Clock) instead of sleeping.
pub trait Sleeper: Send + Sync {
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The real sleeper: `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(duration))
    }
}
