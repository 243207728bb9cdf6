//! Rules the hub enforces whatever the client does: passwords, rates, addresses.

mod password;
mod recipients;
mod throttle;

pub use password::{nfkc, PasswordPolicy};
pub use recipients::{resolve_recipients, Original};
pub use throttle::{HashPool, Throttle};

/// Lower-cases and trims an address, and checks it is one (`local@domain.tld`).
pub fn normalise_email(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    let parsed: lettre::Address = email.parse().ok()?;
    // An address needs a dotted domain to be reachable; refuse bare hosts like `root@localhost`.
    parsed.domain().contains('.').then_some(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_lower_cased_and_checked() {
        assert_eq!(
            normalise_email("  Referrals@Partner.Example ").as_deref(),
            Some("referrals@partner.example")
        );
        assert_eq!(normalise_email("not an address"), None);
        assert_eq!(normalise_email("a@localhost"), None);
        assert_eq!(normalise_email("a@b@c.example"), None);
    }
}
