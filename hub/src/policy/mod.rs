//! Rules the hub enforces whatever the client does: passwords, rates, recipients. What an
//! address is, and when two are one, is `sealpost_proto::address`.

mod password;
mod recipients;
mod throttle;

pub use password::{nfkc, PasswordPolicy};
pub use recipients::{resolve_recipients, Original};
pub use throttle::{HashPool, Throttle};

/// Longest reference a client may give a message (`client_ref`, `Idempotency-Key`).
pub const MAX_REFERENCE_CHARS: usize = 100;

/// A client's reference for a message, trimmed: `None` when it gave none (or only spaces).
///
/// # Errors
/// `BadRequest` when it is longer than [`MAX_REFERENCE_CHARS`] or holds control
/// characters: cut or cleaned, two different references could become one, and a retry of
/// one message would be answered with another's receipt.
pub fn client_reference(raw: Option<&str>) -> crate::error::Result<Option<String>> {
    let Some(reference) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    if reference.chars().count() > MAX_REFERENCE_CHARS || reference.chars().any(char::is_control) {
        return Err(crate::error::Error::BadRequest(format!(
            "a message's reference (client_ref, Idempotency-Key or --client-ref) must be at most \
             {MAX_REFERENCE_CHARS} characters with no control characters; nothing was sent"
        )));
    }
    Ok(Some(reference.to_owned()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_or_broken_references_are_refused_not_cut() {
        use super::client_reference;
        assert_eq!(client_reference(None).unwrap(), None);
        assert_eq!(client_reference(Some("  ")).unwrap(), None);
        assert_eq!(
            client_reference(Some(" job-1 ")).unwrap().as_deref(),
            Some("job-1")
        );
        let long = "r".repeat(100);
        assert_eq!(client_reference(Some(&long)).unwrap(), Some(long.clone()));
        assert!(client_reference(Some(&format!("{long}1"))).is_err());
        assert!(client_reference(Some("job\n2")).is_err());
    }
}
