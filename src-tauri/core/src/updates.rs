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

/// An update manifest from one hub, with each package's address made whole and checked.
#[derive(Debug, Clone)]
pub struct Offer {
    /// The hub that serves it (as its mailboxes name it).
    pub hub: String,
    /// Where the manifest was read: `{hub}/api/v1/updates/latest.json`.
    pub manifest_url: String,
    /// The manifest, in the Tauri updater's format, each `platforms.*.url` absolute.
    pub manifest: Value,
}

/// The manifests of `hubs` (each asked once, in order), for the apps of those that serve
/// updates.
///
/// # Errors
/// The first hub that cannot be reached or answers with something that is not a manifest,
/// or a manifest naming a package on another server ([`Code::Invalid`], saying which).
/// Hubs without updates are skipped.
pub async fn offers(hubs: &[String]) -> Result<Vec<Offer>> {
    let mut seen = Vec::new();
    let mut offers = Vec::new();
    for hub in hubs {
        let hub = hub.trim_end_matches('/');
        if seen.iter().any(|h: &String| h == hub) {
            continue;
        }
        seen.push(hub.to_owned());
        let client = HubClient::new(hub)?;
        if let Some(manifest) = client.update_manifest().await? {
            offers.push(Offer {
                hub: hub.to_owned(),
                manifest_url: format!("{hub}/api/v1/updates/latest.json"),
                manifest: on_the_hub(hub, manifest)?,
            });
        }
    }
    Ok(offers)
}

/// `manifest` with each package address resolved against the hub's files folder and
/// checked to be on the hub itself.
///
/// # Errors
/// [`Code::Invalid`] for a manifest without platforms, or with an address that is not
/// text, does not parse, or leaves the hub.
pub fn on_the_hub(hub: &str, mut manifest: Value) -> Result<Value> {
    let files = Url::parse(&format!("{hub}/api/v1/updates/files/"))
        .map_err(|_| refused(format!("{hub} is not a hub address")))?;
    let platforms = manifest
        .get_mut("platforms")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| {
            refused(format!(
                "the update offered by {hub} names no platforms; nothing was downloaded"
            ))
        })?;
    for (platform, entry) in platforms.iter_mut() {
        let given = entry.get("url").and_then(Value::as_str).ok_or_else(|| {
            refused(format!(
                "the update offered by {hub} has no package address for {platform}; \
                     nothing was downloaded"
            ))
        })?;
        let url = files.join(given).map_err(|_| {
            refused(format!(
                "the update offered by {hub} has a package address that is not one \
                 ({given:?}); nothing was downloaded"
            ))
        })?;
        if url.origin() != files.origin() {
            return Err(refused(format!(
                "the update offered by {hub} is on another server ({}); Sealpost takes \
                 updates only from your organisation's hub, so nothing was downloaded. \
                 Tell your IT department.",
                url.host_str().unwrap_or("unknown")
            )));
        }
        entry["url"] = Value::String(url.into());
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
