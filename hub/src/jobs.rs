//! What the hub does on its own while it serves: delivering queued email as it arrives and
//! retrying failures, and the hourly sweep of what has expired.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::error::Result;
use crate::hub::{Caller, Hub};

impl Hub {
    /// Runs until `shutdown` resolves: delivers queued email as it arrives, retries failures,
    /// and sweeps expired tokens.
    pub async fn run_background(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut last_sweep = None::<DateTime<Utc>>;
        loop {
            if let Err(e) = self.deliver_mail().await {
                tracing::error!(error = %e, "mail queue");
            }
            let now = self.now();
            self.keys.sweep(now);
            if last_sweep.is_none_or(|t| now - t >= Duration::hours(1)) {
                last_sweep = Some(now);
                if let Err(e) = self.sweep().await {
                    tracing::error!(error = %e, "sweep");
                }
            }
            tokio::select! {
                _ = &mut shutdown => return,
                _ = self.mail_wakeup.notified() => {}
                _ = tokio::time::sleep(std::time::Duration::from_secs(15)) => {}
            }
        }
    }

    /// Removes expired links, dead sessions, stale sign-in guards, and (retention)
    /// expired messages and uploads.
    pub async fn sweep(&self) -> Result<()> {
        self.purge(false, &Caller { ip: "sweep".into() }).await?;
        let now = self.now();
        let idle = Duration::minutes(self.config.security.idle_timeout_minutes);
        self.store
            .write(move |tx| {
                tx.prune_links(now)?;
                tx.prune_sessions(now, idle)?;
                tx.prune_guards(now - Duration::days(1), now)?;
                Ok(())
            })
            .await
    }
}
