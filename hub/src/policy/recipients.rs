//! Who an external user may write to. Enforced on the hub whatever the client does; the
//! desktop client runs the same rules early for clear errors.

use sealpost_proto::{address, SendMode};

use crate::config::HubConfig;
use crate::error::{Error, Result};

/// The message being answered or forwarded.
pub struct Original<'a> {
    /// Its sender.
    pub sender: &'a str,
    /// Its recipients.
    pub to: &'a [String],
    /// Its copy recipients.
    pub cc: &'a [String],
}

/// The final To and Cc of an outgoing message, or the refusal:
/// - `new`, `forward`: every address must be in an organisation domain;
/// - `reply`: the original's sender only, no Cc;
/// - `reply_all`: the original's sender in To, its other organisation participants in Cc,
///   plus any organisation addresses the user adds.
///
/// A refusal lists every refused address; nothing is sent.
pub fn resolve_recipients(
    config: &HubConfig,
    mode: SendMode,
    me: &str,
    to: &[String],
    cc: &[String],
    original: Option<Original<'_>>,
) -> Result<(Vec<String>, Vec<String>)> {
    let mut invalid = Vec::new();
    let mut clean = |list: &[String]| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for raw in list.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
            match address::normalise(raw) {
                Ok(e) if !out.contains(&e) => out.push(e),
                Ok(_) => {}
                Err(_) => invalid.push(raw.to_owned()),
            }
        }
        out
    };
    let to = clean(to);
    let cc = clean(cc);
    if !invalid.is_empty() {
        return Err(Error::BadRequest(format!(
            "these are not valid email addresses: {}",
            invalid.join(", ")
        )));
    }
    let refused = |list: &[&String]| -> Vec<String> {
        list.iter()
            .filter(|a| !config.is_org_address(a))
            .map(|a| a.to_string())
            .collect()
    };
    match mode {
        SendMode::New | SendMode::Forward => {
            let all: Vec<&String> = to.iter().chain(&cc).collect();
            let bad = refused(&all);
            if !bad.is_empty() {
                return Err(Error::RecipientNotAllowed(bad));
            }
            if to.is_empty() && cc.is_empty() {
                return Err(Error::BadRequest("add at least one recipient".into()));
            }
            // An address in both fields is sent once, in To.
            let cc = cc.into_iter().filter(|a| !to.contains(a)).collect();
            Ok((to, cc))
        }
        SendMode::Reply => {
            let original =
                original.ok_or_else(|| Error::BadRequest("a reply needs in_reply_to".into()))?;
            let sender = stored(original.sender);
            let mut bad: Vec<String> = to.iter().filter(|a| **a != sender).cloned().collect();
            bad.extend(cc.iter().cloned());
            if !bad.is_empty() {
                return Err(Error::RecipientNotAllowed(bad));
            }
            Ok((vec![sender], Vec::new()))
        }
        SendMode::ReplyAll => {
            let original =
                original.ok_or_else(|| Error::BadRequest("a reply needs in_reply_to".into()))?;
            let all: Vec<&String> = to.iter().chain(&cc).collect();
            let bad = refused(&all);
            if !bad.is_empty() {
                return Err(Error::RecipientNotAllowed(bad));
            }
            let sender = stored(original.sender);
            let mut out_to = vec![sender.clone()];
            let mut out_cc: Vec<String> = Vec::new();
            let others = original
                .to
                .iter()
                .chain(original.cc)
                .map(|a| stored(a))
                .filter(|a| config.is_org_address(a) && *a != me && *a != sender);
            for a in others.chain(cc) {
                if !out_cc.contains(&a) && !out_to.contains(&a) {
                    out_cc.push(a);
                }
            }
            for a in to {
                if !out_to.contains(&a) {
                    out_cc.retain(|c| *c != a);
                    out_to.push(a);
                }
            }
            Ok((out_to, out_cc))
        }
    }
}

/// An address read back from a stored message, in the form typed ones are compared in.
fn stored(address: &str) -> String {
    address::normalise(address).unwrap_or_else(|_| address.trim().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> HubConfig {
        toml::from_str(
            "org_name = \"C\"\norg_domains = [\"example.gov.uk\"]\npublic_url = \"http://x.example\"\n",
        )
        .unwrap()
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn new_messages_go_only_to_the_organisation_and_every_refusal_is_listed() {
        let c = config();
        let err = resolve_recipients(
            &c,
            SendMode::New,
            "me@partner.example",
            &s(&["a@example.gov.uk", "x@gmail.example"]),
            &s(&["y@other.example"]),
            None,
        )
        .unwrap_err();
        match err {
            Error::RecipientNotAllowed(r) => {
                assert_eq!(r, s(&["x@gmail.example", "y@other.example"]))
            }
            other => panic!("{other:?}"),
        }
        let (to, cc) = resolve_recipients(
            &c,
            SendMode::New,
            "me@p.example",
            &s(&[" A@Example.gov.uk "]),
            &[],
            None,
        )
        .unwrap();
        assert_eq!((to, cc), (s(&["a@example.gov.uk"]), vec![]));
    }

    #[test]
    fn reply_goes_to_the_sender_only() {
        let c = config();
        let to = s(&["me@p.example", "boss@example.gov.uk"]);
        let original = || {
            Some(Original {
                sender: "Worker@example.gov.uk",
                to: &to,
                cc: &[],
            })
        };
        let (t, cc) =
            resolve_recipients(&c, SendMode::Reply, "me@p.example", &[], &[], original()).unwrap();
        assert_eq!((t, cc), (s(&["worker@example.gov.uk"]), vec![]));
        let err = resolve_recipients(
            &c,
            SendMode::Reply,
            "me@p.example",
            &[],
            &s(&["boss@example.gov.uk"]),
            original(),
        );
        assert!(
            matches!(err, Err(Error::RecipientNotAllowed(r)) if r == s(&["boss@example.gov.uk"])),
            "no Cc on a reply"
        );
    }

    #[test]
    fn reply_all_takes_the_other_organisation_participants() {
        let c = config();
        let to = s(&[
            "me@p.example",
            "boss@example.gov.uk",
            "other@partner.example",
        ]);
        let cc = s(&["team@example.gov.uk"]);
        let original = Some(Original {
            sender: "worker@example.gov.uk",
            to: &to,
            cc: &cc,
        });
        let (t, c2) =
            resolve_recipients(&c, SendMode::ReplyAll, "me@p.example", &[], &[], original).unwrap();
        assert_eq!(t, s(&["worker@example.gov.uk"]));
        assert_eq!(
            c2,
            s(&["boss@example.gov.uk", "team@example.gov.uk"]),
            "external participants are left out"
        );
    }
}
