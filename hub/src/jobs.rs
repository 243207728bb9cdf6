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
        let mut last_look = None::<DateTime<Utc>>;
        loop {
            if let Err(e) = self.deliver_mail().await {
                tracing::error!(error = %e, "mail queue");
            }
            let now = self.now();
            self.keys.sweep(now);
            // Whether the hourly sweep is due is asked of the store once a minute: with
            // several hub processes on one database, it is whoever's turn it is.
            if last_look.is_none_or(|t| now - t >= Duration::minutes(1)) {
                last_look = Some(now);
                if let Err(e) = self.sweep_if_due().await {
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

    /// Runs [`Hub::sweep`] if it has not run in the last hour, here or in another hub
    /// process on the same database, and no other process is running it now. Whether
    /// it ran.
    pub async fn sweep_if_due(&self) -> Result<bool> {
        Ok(self
            .store
            .run_job("sweep", self.now(), Duration::hours(1), self.sweep())
            .await?
            .is_some())
    }

    /// Removes expired links, dead sessions, stale sign-in guards, and (retention)
    /// expired messages and uploads.
    pub async fn sweep(&self) -> Result<()> {
        self.purge(
            false,
            &Caller {
                ip: "sweep".into(),
                ..Caller::default()
            },
        )
        .await?;
        let now = self.now();
        let idle = Duration::minutes(self.config.security.idle_timeout_minutes);
        self.store
            .write(move |tx| {
                tx.prune_links(now)?;
                tx.prune_sessions(now, idle)?;
                tx.prune_guards(now - Duration::days(1), now)?;
                tx.prune_throttles(now - Duration::days(1))?;
                Ok(())
            })
            .await
    }
}
