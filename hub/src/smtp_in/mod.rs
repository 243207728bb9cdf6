//! SMTP ingress: staff send secure mail from their own mail client through the
//! organisation's gateway, which relays it here (RFC 5321, with STARTTLS per RFC 3207 and
//! AUTH PLAIN per RFC 4954 and RFC 4616). Commands are parsed by smtp-proto; each session
//! is a task on `serve`'s runtime.
//!
//! Every refusal is said at `MAIL`, `RCPT` or after `DATA` as a 5xx with a reason, never
//! as a later bounce; `250` comes only after the message is stored. A message is spooled
//! sealed to the master key as it arrives, then read once from the spool (`mime`), its
//! attachments streaming into organisation uploads, and sent like an org API send (same
//! policy, sealing and notifications). A retried message (same Message-ID, sender and
//! recipients) is recognised and not sent twice.

pub mod config;
pub mod dkim;
pub mod mime;
mod session;
mod tls;

use std::{net::IpAddr, sync::Arc, time::Duration};

pub use config::SmtpInConfig;

use crate::error::Result;
use crate::hub::Hub;

/// The listener's settings, made ready once.
pub struct Listener {
    config: SmtpInConfig,
    hostname: String,
    tls: tokio_rustls::TlsAcceptor,
    judge: tls::Judge,
    auth_secrets: Vec<[u8; 32]>,
    allow_ips: Vec<IpAddr>,
    dkim: Option<dkim::Dkim>,
    waits: Waits,
}

/// How long a session may wait for its peer.
#[derive(Debug, Clone, Copy)]
pub struct Waits {
    /// For a command (RFC 5321 4.5.3.2.7 asks at least 5 minutes).
    pub command: Duration,
    /// For more of a message while it arrives (RFC 5321 4.5.3.2.5: 3 minutes).
    pub data: Duration,
    /// For the gateway to prove it is the organisation's.
    pub prove: Duration,
}

impl Default for Waits {
    fn default() -> Self {
        Self {
            command: Duration::from_secs(300),
            data: Duration::from_secs(180),
            prove: Duration::from_secs(120),
        }
    }
}

impl Listener {
    /// Reads the certificates `config` names. `public_url` gives the default host name.
    ///
    /// # Errors
    /// A certificate or key that cannot be read or used, said with its path.
    pub fn new(config: &SmtpInConfig, public_url: &str) -> Result<Self, String> {
        config.validate()?;
        let hostname = config.hostname.clone().unwrap_or_else(|| {
            public_url
                .split("://")
                .nth(1)
                .unwrap_or(public_url)
                .split(['/', ':'])
                .next()
                .unwrap_or("localhost")
                .to_owned()
        });
        let dkim = match config.dkim {
            config::DkimUse::Off => None,
            _ => Some(dkim::Dkim::new(&config.dns_servers)?),
        };
        Ok(Self {
            dkim,
            waits: Waits::default(),
            tls: tls::acceptor(config)?,
            judge: tls::Judge::new(config)?,
            hostname,
            auth_secrets: config
                .auth_secret_sha256
                .iter()
                .filter_map(|s| config::parse_sha256(s))
                .collect(),
            allow_ips: config
                .allow_ips
                .iter()
                .filter_map(|ip| ip.parse().ok())
                .collect(),
            config: config.clone(),
        })
    }

    /// The listener with other waits than RFC 5321's (tests, which cannot wait minutes).
    #[cfg(feature = "testing")]
    pub fn with_waits(mut self, waits: Waits) -> Self {
        self.waits = waits;
        self
    }

    /// The cache DKIM lookups go through, when DKIM is on: tests publish their DNS
    /// records in it.
    pub fn dns(&self) -> Option<&dkim::DnsCache> {
        self.dkim.as_ref().map(dkim::Dkim::dns)
    }

    /// Whether a gateway must present a client certificate (or may use AUTH instead).
    fn certificates(&self) -> bool {
        self.config.client_ca.is_some() || !self.config.client_cert_sha256.is_empty()
    }
}

/// A new secret for a gateway's SMTP AUTH (24 random bytes, base64url) and its SHA-256
/// in hex, as `auth_secret_sha256` lists it.
pub fn new_secret() -> (String, String) {
    use base64::Engine;
    use sha2::Digest;
    let secret =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>());
    let digest = hex::encode(sha2::Sha256::digest(&secret));
    (secret, digest)
}

/// Binds the listener `[smtp_in]` of `hub`'s configuration asks for, if any.
///
/// # Errors
/// Certificates that cannot be used, or an address that cannot be bound: said with what
/// to fix.
pub async fn bind(hub: &Hub) -> Result<Option<(tokio::net::TcpListener, Arc<Listener>)>, String> {
    let Some(config) = &hub.config().smtp_in else {
        return Ok(None);
    };
    // Relative certificate paths are read from the data directory, where hub.toml is.
    let mut config = config.clone();
    let root = hub.dir.root();
    for path in [&mut config.tls_cert, &mut config.tls_key]
        .into_iter()
        .chain(config.client_ca.as_mut())
    {
        if std::path::Path::new(path.as_str()).is_relative() {
            *path = root.join(path.as_str()).display().to_string();
        }
    }
    let config = &config;
    let setup = Listener::new(config, &hub.config().public_url)?;
    let tcp = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| format!("smtp_in.listen {}: {e}", config.listen))?;
    Ok(Some((tcp, Arc::new(setup))))
}

/// The most sessions at once: a gateway opens a few; more are refused with 421 (the
/// gateway tries again later).
pub const MAX_SESSIONS: usize = 100;

/// Serves SMTP on `listener` until `closing` turns true; each connection is a task.
pub async fn serve(
    hub: Arc<Hub>,
    listener: tokio::net::TcpListener,
    setup: Arc<Listener>,
    mut closing: tokio::sync::watch::Receiver<bool>,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_SESSIONS));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = closing.wait_for(|c| *c) => return,
        };
        match accepted {
            Ok((mut stream, peer)) => {
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    tokio::spawn(async move {
                        use tokio::io::AsyncWriteExt;
                        let _ = stream
                            .write_all(b"421 4.7.0 Too many connections; try again later\r\n")
                            .await;
                    });
                    continue;
                };
                let (hub, setup) = (hub.clone(), setup.clone());
                tokio::spawn(async move {
                    if let Err(e) = session::run(hub, setup, stream, peer).await {
                        tracing::debug!(%peer, error = %e, "SMTP session ended");
                    }
                    drop(slot);
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "SMTP accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}
