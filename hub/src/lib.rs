//! The Sealpost hub: an organisation's secure message server.
//!
//! [`Hub`] holds the state and the operations; [`api::router`] exposes them over HTTP;
//! [`serve`] runs the server until told to stop. The `sealpost-hub` binary is a thin CLI
//! over this library.

pub mod accounts;
pub mod address_book;
pub mod admin;
pub mod api;
pub mod backup;
pub mod blobs;
pub mod check;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod delegates;
mod delivery;
pub mod error;
pub mod events;
mod hub;
mod jobs;
pub mod mail;
pub mod mailbox;
pub mod metrics;
pub mod mfa;
pub mod migrate_store;
pub mod notifications;
pub mod outgoing;
pub mod policy;
pub mod recall;
pub mod retention;
pub mod rotation;
mod runtime;
pub mod sending;
pub mod smtp_in;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod updates;
pub mod upgrade;
pub mod uploads;

use std::{future::Future, sync::Arc};

pub use error::{Error, Result};
pub use hub::{Caller, Hub, InitOptions};

/// Serves `hub` on `listener` until `shutdown` resolves, with the mail worker beside it.
pub async fn serve(
    hub: Arc<Hub>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(hub, listener, None, shutdown).await
}

/// [`serve`], with the SMTP listener for the organisation's gateway (`[smtp_in]`) on
/// `smtp`, bound by the caller (see [`smtp_in::bind`]).
pub async fn serve_with(
    hub: Arc<Hub>,
    listener: tokio::net::TcpListener,
    smtp: Option<(tokio::net::TcpListener, Arc<smtp_in::Listener>)>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let smtp = smtp
        .map(|(tcp, setup)| tokio::spawn(smtp_in::serve(hub.clone(), tcp, setup, stop_rx.clone())));
    // A send from another process (`sealpost-hub send`) is heard at once.
    let feed = match hub.hear_other_processes() {
        Ok(task) => Some(task),
        Err(e) => {
            tracing::warn!(error = %e, "the events socket could not be bound: sends from other \
                processes reach open apps only at their next sync");
            None
        }
    };
    let background = {
        let hub = hub.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            hub.run_background(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
        })
    };
    let app =
        api::router(hub.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Clients hold `/events` open for as long as they are signed in; without this
            // the graceful shutdown would wait for them for ever.
            hub.close_event_streams();
            let _ = stop_tx.send(true);
        })
        .await;
    let _ = background.await;
    if let Some(smtp) = smtp {
        let _ = smtp.await;
    }
    if let Some(feed) = feed {
        feed.abort();
    }
    result
}
