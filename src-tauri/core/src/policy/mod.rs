//! The hub's rules, checked before anything is uploaded so that a person hears at once,
//! in the same words, what the hub would refuse. The hub enforces them regardless.

use sealpost_proto::{address, MailboxLimits, SendMode};

use crate::error::{ClientError, Code, Result};

/// Recipients as typed, sorted by the address rule (`sealpost_proto::address`) and the
/// organisation's domains.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AddressCheck {
    /// Every entry that is an address, in its stored form, each once.
    pub addresses: Vec<String>,
    /// Entries that are not addresses, as typed (trimmed).
    pub invalid: Vec<String>,
    /// Addresses outside the organisation's domains (none when no domains are known yet).
    pub outside: Vec<String>,
}

/// Checks each of `entries` (blank ones are skipped) as an address and against
/// `org_domains`.
pub fn check_addresses(entries: &[String], org_domains: &[String]) -> AddressCheck {
    let mut check = AddressCheck::default();
    for raw in entries.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        match address::normalise(raw) {
            Err(_) => check.invalid.push(raw.to_owned()),
            Ok(a) if check.addresses.contains(&a) => {}
            Ok(a) => {
                if !org_domains.is_empty() && !address::in_domains(&a, org_domains) {
                    check.outside.push(a.clone());
                }
                check.addresses.push(a);
            }
        }
    }
    check
}

/// Who an answer reaches, and who of the original's recipients it leaves out.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReplyAudience {
    /// The addresses the answer goes to, the original's sender first.
    pub reaches: Vec<String>,
    /// The original's other recipients outside the organisation: a secure message cannot
    /// be sent to them, so Reply to All leaves them out (said in Compose).
    pub left_out: Vec<String>,
}

/// Who an answer to a message from `from` (to `to`, copied to `cc`) reaches, as the hub
/// works it out: Reply goes to the sender only; Reply to All adds the organisation's other
/// recipients, never an outside address (those are `left_out`) and never `me`. Other modes
/// reach no one by themselves.
pub fn reply_audience(
    mode: SendMode,
    from: &str,
    to: &[String],
    cc: &[String],
    me: &str,
    org_domains: &[String],
) -> ReplyAudience {
    let stored = |a: &str| address::normalise(a).unwrap_or_else(|_| a.trim().to_lowercase());
    let mut out = ReplyAudience {
        reaches: vec![stored(from)],
        left_out: Vec::new(),
    };
    match mode {
        SendMode::Reply => {}
        SendMode::ReplyAll => {
            for a in to.iter().chain(cc).map(|a| stored(a)) {
                if address::same(&a, me) || out.reaches.contains(&a) || out.left_out.contains(&a) {
                    continue;
                }
                if address::in_domains(&a, org_domains) {
                    out.reaches.push(a);
                } else {
                    out.left_out.push(a);
                }
            }
        }
        SendMode::New | SendMode::Forward => out.reaches.clear(),
    }
    out
}

/// The recipient rules for `mode` (for replies the hub fills in the recipients).
pub fn check_recipients(
    mode: SendMode,
    to: &[String],
    cc: &[String],
    org_domains: &[String],
) -> Result<()> {
    let entries: Vec<String> = to.iter().chain(cc).cloned().collect();
    let AddressCheck {
        invalid,
        outside: refused,
        ..
    } = check_addresses(&entries, org_domains);
    if !invalid.is_empty() {
        return Err(ClientError::Refused {
            code: Code::Invalid,
            message: format!(
                "These are not valid email addresses: {}.",
                invalid.join(", ")
            ),
            refused: invalid,
        });
    }
    match mode {
        SendMode::Reply if !to.iter().chain(cc).all(|c| c.trim().is_empty()) => {
            Err(ClientError::Refused {
                code: Code::RecipientNotAllowed,
                message: "A reply goes to the sender only; leave out the other addresses, or \
                          use Reply to All (`--reply-all`), which may add organisation \
                          addresses. Nothing was sent."
                    .into(),
                refused: to
                    .iter()
                    .chain(cc)
                    .filter(|c| !c.trim().is_empty())
                    .cloned()
                    .collect(),
            })
        }
        SendMode::Reply | SendMode::ReplyAll => {
            if refused.is_empty() {
                Ok(())
            } else {
                Err(not_allowed(refused))
            }
        }
        SendMode::New | SendMode::Forward => {
            if !refused.is_empty() {
                return Err(not_allowed(refused));
            }
            if to.iter().chain(cc).all(|s| s.trim().is_empty()) {
                return Err(ClientError::Refused {
                    code: Code::Invalid,
                    message: "Add at least one recipient.".into(),
                    refused: Vec::new(),
                });
            }
            Ok(())
        }
    }
}

fn not_allowed(refused: Vec<String>) -> ClientError {
    ClientError::Refused {
        code: Code::RecipientNotAllowed,
        message: format!(
            "Messages can go only to the organisation's addresses. Remove: {}. Nothing was sent.",
            refused.join(", ")
        ),
        refused,
    }
}

/// The hub's attachment limits, as it reported them at sign-in.
pub fn check_attachments(sizes: &[u64], limits: &MailboxLimits) -> Result<()> {
    let total: u64 = sizes.iter().sum();
    if sizes.len() > limits.max_files as usize || total > limits.max_total_bytes {
        return Err(ClientError::Refused {
            code: Code::AttachmentLimit,
            message: format!(
                "A message may carry at most {} attachments and {} in total. Remove some and try again.",
                limits.max_files,
                sealpost_proto::text::megabytes(limits.max_total_bytes)
            ),
            refused: Vec::new(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org() -> Vec<String> {
        vec!["example.gov.uk".into()]
    }

    #[test]
    fn outside_addresses_are_refused_with_the_hubs_words() {
        let err = check_recipients(
            SendMode::New,
            &["w@example.gov.uk".into(), "Friend@Gmail.example".into()],
            &[],
            &org(),
        )
        .unwrap_err();
        assert_eq!(err.code(), Code::RecipientNotAllowed);
        assert!(
            err.to_string()
                .contains("Remove: friend@gmail.example. Nothing was sent."),
            "{err}"
        );
        assert!(check_recipients(SendMode::New, &["W@EXAMPLE.gov.uk".into()], &[], &org()).is_ok());
        assert_eq!(
            check_recipients(SendMode::New, &[], &[], &org())
                .unwrap_err()
                .code(),
            Code::Invalid
        );
        assert_eq!(
            check_recipients(SendMode::Reply, &[], &["x@example.gov.uk".into()], &org())
                .unwrap_err()
                .code(),
            Code::RecipientNotAllowed
        );
        assert_eq!(
            check_recipients(SendMode::New, &["nope".into()], &[], &org())
                .unwrap_err()
                .code(),
            Code::Invalid
        );
    }

    #[test]
    fn typed_entries_are_sorted_once_each() {
        let typed: Vec<String> = [
            "Ann@Example.gov.uk",
            " ann@example.gov.uk ",
            "friend@gmail.example",
            "bob",
            "",
        ]
        .map(String::from)
        .to_vec();
        let check = check_addresses(&typed, &org());
        assert_eq!(
            check.addresses,
            ["ann@example.gov.uk", "friend@gmail.example"]
        );
        assert_eq!(check.outside, ["friend@gmail.example"]);
        assert_eq!(check.invalid, ["bob"]);
        assert!(
            check_addresses(&["x@example.gov.uk.evil.example".into()], &org())
                .outside
                .len()
                == 1,
            "a look-alike domain is outside"
        );
    }

    #[test]
    fn a_reply_reaches_the_sender_and_reply_all_the_organisation_too() {
        let to: Vec<String> = vec!["Me@Partner.example".into(), "Lead@Example.gov.uk".into()];
        let cc: Vec<String> = vec![
            "friend@gmail.example".into(),
            "case.worker@example.gov.uk".into(),
            "team@EXAMPLE.gov.uk".into(),
        ];
        let from = "Case.Worker@example.gov.uk";
        assert_eq!(
            reply_audience(
                SendMode::Reply,
                from,
                &to,
                &cc,
                "me@partner.example",
                &org()
            ),
            ReplyAudience {
                reaches: vec!["case.worker@example.gov.uk".into()],
                left_out: Vec::new()
            }
        );
        assert_eq!(
            reply_audience(
                SendMode::ReplyAll,
                from,
                &to,
                &cc,
                "me@partner.example",
                &org()
            ),
            ReplyAudience {
                reaches: vec![
                    "case.worker@example.gov.uk".into(),
                    "lead@example.gov.uk".into(),
                    "team@example.gov.uk".into()
                ],
                left_out: vec!["friend@gmail.example".into()],
            },
            "never the outside address (it is said to be left out), never me, the sender once"
        );
    }

    #[test]
    fn attachment_limits_are_the_hubs() {
        let hub = MailboxLimits::default();
        assert!(check_attachments(&[1; 10], &hub).is_ok());
        assert_eq!(
            check_attachments(&[1; 11], &hub).unwrap_err().code(),
            Code::AttachmentLimit
        );
        assert!(check_attachments(&[hub.max_total_bytes], &hub).is_ok());
        assert_eq!(
            check_attachments(&[hub.max_total_bytes, 1], &hub)
                .unwrap_err()
                .code(),
            Code::AttachmentLimit
        );
        let strict = MailboxLimits {
            max_files: 2,
            max_total_bytes: 1_500_000,
            ..hub
        };
        let err = check_attachments(&[1, 1, 1], &strict).unwrap_err();
        assert!(
            err.to_string().contains("at most 2 attachments and 1.5 MB"),
            "the hub's own figures are said: {err}"
        );
        assert!(check_attachments(&[1_000_000], &strict).is_ok());
        assert!(check_attachments(&[1_000_001, 500_000], &strict).is_err());
    }
}
