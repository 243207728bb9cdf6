//! The hub's rules, checked before anything is uploaded so that a person hears at once,
//! in the same words, what the hub would refuse. The hub enforces them regardless.

use sealpost_proto::{address, SendMode};

use crate::error::{ClientError, Code, Result};

/// Most attachments on one message (the hub's default).
pub const MAX_FILES: usize = 10;
/// Most bytes of attachments on one message (the hub's default: 75 MB, 75,000,000 bytes).
pub const MAX_TOTAL_BYTES: u64 = 75 * sealpost_proto::text::MEGABYTE;

/// The recipient rules for `mode` (for replies the hub fills in the recipients).
pub fn check_recipients(
    mode: SendMode,
    to: &[String],
    cc: &[String],
    org_domains: &[String],
) -> Result<()> {
    let mut invalid = Vec::new();
    let mut refused = Vec::new();
    for raw in to
        .iter()
        .chain(cc)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        match address::normalise(raw) {
            Err(_) => invalid.push(raw.to_owned()),
            Ok(a) if !org_domains.is_empty() && !address::in_domains(&a, org_domains) => {
                refused.push(a)
            }
            Ok(_) => {}
        }
    }
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

/// The attachment limits.
pub fn check_attachments(sizes: &[u64]) -> Result<()> {
    let total: u64 = sizes.iter().sum();
    if sizes.len() > MAX_FILES || total > MAX_TOTAL_BYTES {
        return Err(ClientError::Refused {
            code: Code::AttachmentLimit,
            message: format!(
                "A message may carry at most {MAX_FILES} attachments and {} in total. Remove some and try again.",
                sealpost_proto::text::megabytes(MAX_TOTAL_BYTES)
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
    fn attachment_limits() {
        assert!(check_attachments(&[1; 10]).is_ok());
        assert_eq!(
            check_attachments(&[1; 11]).unwrap_err().code(),
            Code::AttachmentLimit
        );
        assert!(check_attachments(&[MAX_TOTAL_BYTES]).is_ok());
        assert_eq!(
            check_attachments(&[MAX_TOTAL_BYTES, 1]).unwrap_err().code(),
            Code::AttachmentLimit
        );
    }
}
