//! In-app updates: asked of the hubs of this computer's mailboxes only (the client core
//! decides what to ask, [`sealpost_client::updates`]); each package's minisign signature is
//! checked by the Tauri updater against the release key compiled into the app, with the
//! version bound into the signature (the updater's `requireSignedVersion`), before anything
//! is installed.
//!
//! `tauri.conf.json` sets the updater's `dangerousInsecureTransportProtocol`: the only
//! endpoint ever given is a mailbox's hub, whose address the client core accepts only as
//! `https://`, or `http://` to this computer (a hub on loopback, as in `make run` and the
//! tests). The packages must be on that same hub ([`sealpost_client::updates::on_the_hub`]).

use std::sync::Mutex;

use sealpost_client::Code;
use serde::Serialize;
use tauri::{AppHandle, State};
use tauri_plugin_updater::{Update, UpdaterExt};

use crate::error::{UiError, UiResult};
use crate::session::Desk;

/// The update found by the last check, until it is installed; and the version installed
/// since the app started (it runs after a restart, and is not offered again meanwhile).
#[derive(Default)]
pub struct Found(Mutex<FoundState>);

#[derive(Default)]
struct FoundState {
    update: Option<Update>,
    installed: Option<String>,
}

/// An update the window can offer.
#[derive(Debug, Serialize, specta::Type)]
pub struct UpdateOffer {
    /// The version offered, e.g. "0.2.0".
    pub version: String,
    /// The version running now.
    pub current_version: String,
    /// The release notes, as the organisation published them.
    pub notes: Option<String>,
    /// The hub that offers it.
    pub hub: String,
}

/// Asks the hubs of this computer's mailboxes for a newer version; `None` when none is
/// offered (a hub without updates offers none). A hub that fails does not hide another's
/// update; when no update is found and a hub failed, the failure is the answer.
#[tauri::command]
#[specta::specta]
pub async fn check_for_update(
    app: AppHandle,
    desk: State<'_, Desk>,
    found: State<'_, Found>,
) -> UiResult<Option<UpdateOffer>> {
    if !desk.system.updates {
        // The IT department keeps this computer up to date: no hub is asked.
        return Ok(None);
    }
    let hubs: Vec<String> = desk
        .mailboxes
        .accounts
        .list()?
        .into_iter()
        .map(|a| a.hub_url)
        .collect();
    let checked = sealpost_client::updates::offers(&hubs).await;
    let mut failed = checked.failed;
    let installed = found.0.lock().expect("BUG: poisoned").installed.clone();
    let mut best: Option<(Update, String)> = None;
    for offer in checked.offers {
        match restored(&app, &offer) {
            Ok(Some(update)) => {
                let already = installed
                    .as_deref()
                    .is_some_and(|v| !newer(&update.version, v));
                let better = best
                    .as_ref()
                    .is_none_or(|(b, _)| newer(&update.version, &b.version));
                if !already && better {
                    best = Some((update, offer.hub));
                }
            }
            Ok(None) => {}
            Err(e) => failed.push(e.message_text()),
        }
    }
    for failure in &failed {
        tracing::warn!(failure = %failure, "a hub's update could not be checked");
    }
    if best.is_none() {
        if let Some(first) = failed.into_iter().next() {
            return Err(UiError::new(
                Code::Offline,
                crate::error::capitalised(&first),
            ));
        }
    }
    let view = best.as_ref().map(|(u, hub)| UpdateOffer {
        version: u.version.clone(),
        current_version: u.current_version.clone(),
        notes: u.body.clone(),
        hub: hub.clone(),
    });
    found.0.lock().expect("BUG: poisoned").update = best.map(|(u, _)| u);
    Ok(view)
}

/// The update `offer` describes, as the updater reads it (`None`: not newer than this app).
fn restored(
    app: &AppHandle,
    offer: &sealpost_client::updates::Offer,
) -> Result<Option<Update>, UiError> {
    let endpoint = offer
        .manifest_url
        .parse()
        .map_err(|_| UiError::new(Code::Invalid, "The hub's address is not valid."))?;
    app.updater_builder()
        // The package comes from the hub itself: a redirect elsewhere is not followed.
        .configure_client(|client| client.redirect(reqwest::redirect::Policy::none()))
        .endpoints(vec![endpoint])
        .and_then(|b| b.build())
        .and_then(|u| u.restore_update(offer.manifest.clone()))
        .map_err(|e| refused(&offer.hub, &e))
}

/// Downloads the update found by the last check, checks its signature and installs it (the
/// system's package tool asks for an administrator's password when it needs one). Answers
/// the version installed; the app runs it once restarted.
#[tauri::command]
#[specta::specta]
pub async fn install_update(found: State<'_, Found>) -> UiResult<String> {
    let update = found
        .0
        .lock()
        .expect("BUG: poisoned")
        .update
        .clone()
        .ok_or_else(|| UiError::new(Code::NotFound, "No update is waiting: check again."))?;
    let host = update
        .download_url
        .host_str()
        .unwrap_or("the hub")
        .to_owned();
    let bytes = update
        .download(|_, _| {}, || {})
        .await
        .map_err(|e| refused(&host, &e))?;
    // The package tool may wait minutes for an administrator's password: off the async
    // workers, which carry sync meanwhile.
    let installing = update.clone();
    tokio::task::spawn_blocking(move || installing.install(bytes))
        .await
        .map_err(|e| UiError::new(Code::Internal, format!("The update stopped: {e}.")))?
        .map_err(|e| refused(&host, &e))?;
    let mut state = found.0.lock().expect("BUG: poisoned");
    // A check meanwhile may have found a newer one: only this one is done.
    if state
        .update
        .as_ref()
        .is_some_and(|u| u.version == update.version)
    {
        state.update = None;
    }
    state.installed = Some(update.version.clone());
    Ok(update.version)
}

/// Starts the app again (after an update is installed).
#[tauri::command]
#[specta::specta]
pub fn restart_app(app: AppHandle) {
    app.restart()
}

/// Whether version `a` is newer than `b` (semantic versions; an unreadable one never is).
fn newer(a: &str, b: &str) -> bool {
    match (semver::Version::parse(a), semver::Version::parse(b)) {
        (Ok(a), Ok(b)) => a > b,
        _ => false,
    }
}

/// What went wrong with an update from `from`, for a person: nothing was installed, and why.
/// (The updater plugin's errors are mapped here, beside the plugin, rather than in
/// `error.rs`, which maps the client core's.)
fn refused(from: &str, e: &tauri_plugin_updater::Error) -> UiError {
    use tauri_plugin_updater::Error as E;
    tracing::warn!(error = %e, from, "an update was refused");
    let (code, message) = match e {
        E::Minisign(_) | E::SignatureUtf8(_) | E::Base64(_) => (
            Code::Invalid,
            format!(
                "The update from {from} failed its signature check: it was not made by \
                 Sealpost's publisher, or it was changed on the way. Nothing was installed; \
                 tell your IT department."
            ),
        ),
        E::MissingSignedVersion | E::SignedVersionMismatch { .. } => (
            Code::Invalid,
            format!(
                "The update from {from} is described as another version than the package \
                 it names. Nothing was installed; tell your IT department."
            ),
        ),
        E::Reqwest(_) | E::Network(_) => (
            Code::Offline,
            format!(
                "The update could not be downloaded from {from}. Nothing was installed; try \
                 again later."
            ),
        ),
        E::PackageInstallFailed
        | E::DebInstallFailed
        | E::AuthenticationFailed
        | E::InvalidUpdaterFormat => (
            Code::Internal,
            "The system did not install the update (its package tool refused, or no \
             administrator's password was given). Nothing changed; your IT department can \
             install it for you."
                .to_owned(),
        ),
        E::Serialization(_) | E::TargetNotFound(_) | E::TargetsNotFound(_) => (
            Code::Invalid,
            format!(
                "The update offered by {from} is not one this computer can install (no \
                 package for it, or a manifest that cannot be read). Nothing was installed."
            ),
        ),
        other => (
            Code::Internal,
            format!("The update could not be installed: {other}. Nothing changed."),
        ),
    };
    UiError::new(code, message)
}

#[cfg(test)]
mod tests {
    use super::newer;

    #[test]
    fn versions_compare_as_semantic_versions() {
        assert!(newer("0.10.0", "0.9.1"), "not as text");
        assert!(!newer("0.2.0", "0.2.0"));
        assert!(!newer("x", "0.1.0"), "an unreadable version is never newer");
    }
}
