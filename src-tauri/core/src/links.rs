//! The links the hub emails (registration and password reset), whether pasted as the web
//! address or opened as a `sealpost://` deep link.

use crate::error::{ClientError, Code, Result};
use crate::hub::check_hub_url;

/// What an emailed link is for.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// Registration of a new address.
    Register,
    /// Choosing a new password.
    Reset,
}

/// An emailed link, taken apart.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HubLink {
    /// Registration or reset.
    pub kind: LinkKind,
    /// The hub's address, checked.
    pub hub_url: String,
    /// The one-time token.
    pub token: String,
}

fn not_a_link() -> ClientError {
    ClientError::Refused {
        code: Code::InvalidLink,
        message: "That is not a Sealpost link. Copy the whole link from the email \
                  (it contains \"/register?token=\" or \"/reset?token=\") and paste it again."
            .into(),
        refused: Vec::new(),
    }
}

fn query_value<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// Minimal percent-decoding for the `hub` parameter of a deep link.
fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&value[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn valid_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Reads a link: `https://hub/register?token=T`, `https://hub/reset?token=T`, or
/// `sealpost://register?hub=https%3A%2F%2Fhub&token=T` (and `sealpost://reset?…`).
pub fn parse_link(link: &str) -> Result<HubLink> {
    let link = link.trim();
    if let Some(rest) = link.strip_prefix("sealpost://") {
        let (action, query) = rest.split_once('?').ok_or_else(not_a_link)?;
        let kind = match action.trim_end_matches('/') {
            "register" => LinkKind::Register,
            "reset" => LinkKind::Reset,
            _ => return Err(not_a_link()),
        };
        let hub = query_value(query, "hub")
            .map(decode)
            .ok_or_else(not_a_link)?;
        let token = query_value(query, "token").ok_or_else(not_a_link)?;
        if !valid_token(token) {
            return Err(not_a_link());
        }
        return Ok(HubLink {
            kind,
            hub_url: check_hub_url(&hub)?,
            token: token.to_owned(),
        });
    }
    for (marker, kind) in [
        ("/register?token=", LinkKind::Register),
        ("/reset?token=", LinkKind::Reset),
    ] {
        if let Some((base, token)) = link.split_once(marker) {
            let token = token.split(['&', '#']).next().unwrap_or_default();
            if !valid_token(token) {
                return Err(not_a_link());
            }
            return Ok(HubLink {
                kind,
                hub_url: check_hub_url(base)?,
                token: token.to_owned(),
            });
        }
    }
    Err(not_a_link())
}

/// An emailed link, read and checked with its hub: who it is for and the password rules to
/// show while a password is chosen for it.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LinkInfo {
    /// Registration or reset.
    pub kind: LinkKind,
    /// The hub's address.
    pub hub_url: String,
    /// The address the link is for.
    pub email: String,
    /// The organisation that runs the hub.
    pub org_name: String,
    /// The hub's password rules.
    pub rules: sealpost_proto::PasswordRules,
}

/// Reads `link` and asks its hub about it, so that a used or expired link is refused before
/// a password is chosen for it.
///
/// # Errors
/// `InvalidLink` for text that is not a link, or a link the hub no longer knows; `Offline`.
pub async fn link_info(link: &str) -> Result<LinkInfo> {
    let parsed = parse_link(link)?;
    let hub = crate::hub::HubClient::new(&parsed.hub_url)?;
    let details = match parsed.kind {
        LinkKind::Register => hub.registration_info(&parsed.token).await?,
        LinkKind::Reset => hub.reset_info(&parsed.token).await?,
    };
    Ok(LinkInfo {
        kind: parsed.kind,
        hub_url: parsed.hub_url,
        email: details.email,
        org_name: details.org_name,
        rules: details.password_rules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pasted_registration_link_gives_hub_and_token() {
        let l = parse_link(" http://127.0.0.1:8080/register?token=abc_DEF-1 \n").unwrap();
        assert_eq!(l.kind, LinkKind::Register);
        assert_eq!(
            l.hub_url, "http://127.0.0.1:8080",
            "the hub is what precedes the path"
        );
        assert_eq!(
            l.token, "abc_DEF-1",
            "surrounding whitespace from copying is dropped"
        );
    }

    #[test]
    fn a_deep_link_carries_the_hub_encoded() {
        let l = parse_link("sealpost://reset?hub=http%3A%2F%2F127.0.0.1%3A9000&token=t0k").unwrap();
        assert_eq!(l.kind, LinkKind::Reset);
        assert_eq!(l.hub_url, "http://127.0.0.1:9000");
        assert_eq!(l.token, "t0k");
    }

    #[test]
    fn anything_else_is_refused_with_what_to_do() {
        for bad in [
            "",
            "hello",
            "http://127.0.0.1/register?token=",
            "http://127.0.0.1/register?token=a<b",
            "sealpost://open?hub=x&token=y",
        ] {
            let e = parse_link(bad).unwrap_err();
            assert_eq!(e.code(), Code::InvalidLink, "{bad:?} is not a link");
        }
    }
}
