//! Which app update to offer, and from where. An update is taken only from the hub of one
//! of this computer's mailboxes (`GET /api/v1/updates/latest.json`, served when the
//! organisation set `[updates] dir`): a hub that serves none means none is offered, and no
//! other server is ever asked. Every package the manifest names must be on that same hub;
//! a bare file name means `/api/v1/updates/files/NAME` there.
//!
//! Checking each package's signature against the release key is the desktop shell's job
//! (the Tauri updater plugin, minisign); this module only decides what is asked for.

use reqwest::Url;
use serde_json::Value;

use crate::error::{ClientError, Code, Result};
use crate::hub::HubClient;

/// An update manifest from one hub, with each package's address made whole and checked:
/// on that hub, under `/api/v1/updates/files/`.
#[derive(Debug, Clone)]
pub struct Offer {
    /// The hub that serves it (as its mailboxes name it).
    pub hub: String,
    /// Where the manifest was read: `{hub}/api/v1/updates/latest.json`.
    pub manifest_url: String,
    /// The manifest, in the Tauri updater's format, each `platforms.*.url` absolute.
    pub manifest: Value,
}

/// How long one hub may take to answer for its manifest.
pub const MANIFEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// What the hubs answered: the manifests of those that serve updates, and why others could
/// not be asked (a hub offline, or a manifest refused), each a sentence naming the hub.
#[derive(Debug, Default)]
pub struct Offers {
    /// One per hub that serves updates, in the order the hubs were given.
    pub offers: Vec<Offer>,
    /// The hubs that failed, with the reason, for a person.
    pub failed: Vec<String>,
}

/// Asks each of `hubs` once (two mailboxes on one hub ask it once) for its manifest, all
/// at the same time, each within [`MANIFEST_TIMEOUT`]. A hub that fails or does not answer
/// does not hide or hold up another's update: it is listed in [`Offers::failed`]. Hubs
/// without updates are simply absent.
pub async fn offers(hubs: &[String]) -> Offers {
    offers_within(hubs, MANIFEST_TIMEOUT).await
}

/// As [`offers`], each hub given `limit` to answer.
pub async fn offers_within(hubs: &[String], limit: std::time::Duration) -> Offers {
    let mut seen: Vec<String> = Vec::new();
    let mut found = Offers::default();
    let mut asking = Vec::new();
    for hub in hubs {
        match HubClient::new(hub) {
            Ok(client) if !seen.contains(&client.base().to_owned()) => {
                seen.push(client.base().to_owned());
                asking.push(client);
            }
            Ok(_) => {}
            Err(e) => found
                .failed
                .push(format!("{hub} could not be asked for updates: {e}")),
        }
    }
    let answers = futures_util::future::join_all(
        asking
            .iter()
            .map(|client| tokio::time::timeout(limit, client.update_manifest())),
    )
    .await;
    for (client, answer) in asking.iter().zip(answers) {
        let hub = client.base().to_owned();
        let manifest = match answer {
            Ok(Ok(Some(m))) => m,
            Ok(Ok(None)) => continue,
            Ok(Err(e)) => {
                found
                    .failed
                    .push(format!("{hub} could not be asked for updates: {e}"));
                continue;
            }
            Err(_) => {
                found.failed.push(format!(
                    "{hub} did not answer within {} seconds when asked for updates",
                    limit.as_secs()
                ));
                continue;
            }
        };
        match on_the_hub(&hub, manifest) {
            Ok(manifest) => found.offers.push(Offer {
                manifest_url: format!("{hub}/api/v1/updates/latest.json"),
                hub,
                manifest,
            }),
            Err(e) => found.failed.push(e.to_string()),
        }
    }
    found
}

/// `manifest` with each package address resolved against the hub's files folder. An entry
/// whose package is anywhere else (another server, another path of the hub) or that has no
/// usable address is left out, so that a release's manifest copied in with an entry not yet
/// rewritten does not stop the others; the updater then finds no package for a platform
/// whose entry was left out, and says so.
///
/// # Errors
/// [`Code::Invalid`] for a manifest without platforms, or none of whose packages is on the
/// hub (saying where the first one is instead).
pub fn on_the_hub(hub: &str, mut manifest: Value) -> Result<Value> {
    let files = Url::parse(&format!("{hub}/api/v1/updates/files/"))
        .map_err(|_| refused(format!("{hub} is not a hub address")))?;
    let platforms = manifest
        .get_mut("platforms")
        .and_then(Value::as_object_mut)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            refused(format!(
                "the update offered by {hub} names no platforms; nothing was downloaded"
            ))
        })?;
    let mut elsewhere: Option<String> = None;
    platforms.retain(|platform, entry| {
        let Some(given) = entry.get("url").and_then(Value::as_str) else {
            tracing::warn!(%platform, "an update entry without a package address is left out");
            return false;
        };
        let Ok(url) = files.join(given) else {
            elsewhere.get_or_insert_with(|| given.to_owned());
            return false;
        };
        if url.origin() != files.origin() || !url.path().starts_with(files.path()) {
            let place = if url.origin() == files.origin() {
                url.path().to_owned()
            } else {
                url.host_str().unwrap_or("unknown").to_owned()
            };
            tracing::warn!(%platform, %place, "an update entry whose package is not on the hub is left out");
            elsewhere.get_or_insert(place);
            return false;
        }
        entry["url"] = Value::String(url.into());
        true
    });
    if platforms.is_empty() {
        let place = elsewhere.unwrap_or_else(|| "no address".to_owned());
        return Err(refused(format!(
            "the update offered by {hub} is elsewhere ({place}); Sealpost takes updates only \
             from your organisation's hub, so nothing was downloaded. Tell your IT department."
        )));
    }
    Ok(manifest)
}

fn refused(message: String) -> ClientError {
    ClientError::Refused {
        code: Code::Invalid,
        message,
        refused: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn manifest(url: &str) -> Value {
        json!({"version": "0.2.0", "platforms": {"linux-x86_64-deb": {"url": url, "signature": "s"}}})
    }

    #[test]
    fn a_file_name_is_a_file_of_the_hub() {
        let m = on_the_hub(
            "https://secure.example.gov.uk",
            manifest("Sealpost_0.2.0_amd64.deb"),
        )
        .unwrap();
        assert_eq!(
            m["platforms"]["linux-x86_64-deb"]["url"],
            "https://secure.example.gov.uk/api/v1/updates/files/Sealpost_0.2.0_amd64.deb"
        );
        assert_eq!(m["version"], "0.2.0", "the rest is as published");
    }

    #[test]
    fn an_address_on_the_hub_is_kept() {
        let url = "https://secure.example.gov.uk/api/v1/updates/files/Sealpost.deb";
        let m = on_the_hub("https://secure.example.gov.uk", manifest(url)).unwrap();
        assert_eq!(m["platforms"]["linux-x86_64-deb"]["url"], url);
    }

    #[test]
    fn a_package_anywhere_else_is_refused() {
        for url in [
            "https://github.com/sealpost/releases/Sealpost.deb",
            "http://secure.example.gov.uk/api/v1/updates/files/Sealpost.deb",
            "https://secure.example.gov.uk:8443/Sealpost.deb",
            "https://secure.example.gov.uk.evil.example/Sealpost.deb",
            "//evil.example/Sealpost.deb",
            "file:///tmp/Sealpost.deb",
            "https://secure.example.gov.uk/api/v1/messages/m1/attachments/a1",
            "/elsewhere/Sealpost.deb",
            "../../messages/m1",
        ] {
            let e = on_the_hub("https://secure.example.gov.uk", manifest(url)).unwrap_err();
            assert_eq!(e.code(), Code::Invalid, "{url}");
            assert!(
                e.to_string().contains("only from your organisation's hub"),
                "{url}: says why: {e}"
            );
        }
    }

    #[test]
    fn an_entry_elsewhere_is_left_out_and_the_others_kept() {
        let m = on_the_hub(
            "https://secure.example.gov.uk",
            json!({"version": "0.2.0", "platforms": {
                "linux-x86_64-deb": {"url": "Sealpost_0.2.0_amd64.deb", "signature": "s"},
                "windows-x86_64": {"url": "https://github.com/x/Sealpost.msi", "signature": "s"}
            }}),
        )
        .unwrap();
        let platforms = m["platforms"].as_object().unwrap();
        assert_eq!(platforms.len(), 1, "only the hub's own package stays: {m}");
        assert!(platforms.contains_key("linux-x86_64-deb"));
    }

    #[test]
    fn a_manifest_without_packages_is_refused() {
        for m in [
            json!({"version": "0.2.0"}),
            json!({"version": "0.2.0", "platforms": []}),
            json!({"version": "0.2.0", "platforms": {"linux-x86_64": {"signature": "s"}}}),
            json!({"version": "0.2.0", "platforms": {"linux-x86_64": {"url": 7, "signature": "s"}}}),
        ] {
            let e = on_the_hub("https://secure.example.gov.uk", m.clone()).unwrap_err();
            assert!(e.to_string().contains("nothing was downloaded"), "{m}: {e}");
        }
    }
}
