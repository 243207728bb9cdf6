use sealpost_proto::{PasswordRule, PasswordRules};
use zxcvbn::matching::patterns::MatchPattern;

/// The hub's password rules: length, not a common password, not the address.
/// No composition rules (NIST SP 800-63B rev. 4).
#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    /// Fewest characters.
    pub min_length: u32,
    /// Most characters.
    pub max_length: u32,
}

impl PasswordPolicy {
    /// The rules as shown to people.
    pub fn rules(&self) -> PasswordRules {
        let rule = |id: &str, description: String| PasswordRule {
            id: id.into(),
            description,
        };
        PasswordRules {
            min_length: self.min_length,
            max_length: self.max_length,
            rules: vec![
                rule(
                    "min_length",
                    format!("At least {} characters", self.min_length),
                ),
                rule(
                    "max_length",
                    format!("At most {} characters", self.max_length),
                ),
                rule(
                    "not_common",
                    "Not a commonly used password or a single dictionary word".into(),
                ),
                rule(
                    "not_address",
                    "Does not contain your email address or its name part".into(),
                ),
            ],
        }
    }

    /// The ids of the rules `password` breaks for `email`; empty when it is acceptable.
    pub fn check(&self, password: &str, email: &str) -> Vec<String> {
        let mut failed = Vec::new();
        let length = password.chars().count() as u32;
        if length < self.min_length {
            failed.push("min_length".to_owned());
        }
        if length > self.max_length {
            failed.push("max_length".to_owned());
        }
        if length <= self.max_length && is_common(password) {
            failed.push("not_common".to_owned());
        }
        let lower = password.to_lowercase();
        let local = email.split('@').next().unwrap_or_default().to_lowercase();
        // Very short local parts ("a@…") would refuse half the dictionary; 3+ characters.
        if !email.is_empty()
            && (lower.contains(&email.to_lowercase())
                || (local.chars().count() >= 3 && lower.contains(&local)))
        {
            failed.push("not_address".to_owned());
        }
        failed
    }
}

/// Whether the whole password is one entry of the bundled lists: zxcvbn's 30,000 most
/// common passwords and its English, name and film word lists, also when capitalised,
/// reversed or with l33t substitutions.
fn is_common(password: &str) -> bool {
    if password.is_empty() {
        return false;
    }
    let entropy = zxcvbn::zxcvbn(password, &[]);
    let length = password.chars().count();
    match entropy.sequence() {
        [only] => {
            only.i == 0
                && only.j + 1 == length
                && matches!(only.pattern, MatchPattern::Dictionary(_))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PasswordPolicy {
        PasswordPolicy {
            min_length: 15,
            max_length: 128,
        }
    }

    #[test]
    fn a_long_uncommon_passphrase_passes() {
        assert!(policy()
            .check("plum kettle orbit sandstone", "referrals@partner.example")
            .is_empty());
    }

    #[test]
    fn each_broken_rule_is_named() {
        let p = policy();
        assert_eq!(p.check("k9#Lm2vQ", "x@y.example"), vec!["min_length"]);
        assert_eq!(p.check(&"a".repeat(129), "x@y.example"), vec!["max_length"]);
        assert_eq!(
            p.check("1qaz2wsx3edc4rfv", "x@y.example"),
            vec!["not_common"],
            "a 16-character entry of the common-password list is refused"
        );
        assert_eq!(
            p.check("Referrals rock my whole week", "referrals@partner.example"),
            vec!["not_address"]
        );
        assert_eq!(
            p.check("password", "x@y.example"),
            vec!["min_length", "not_common"],
            "every failing rule is listed"
        );
    }

    #[test]
    fn sixty_four_characters_are_allowed() {
        let long = "correct horse battery staple ".repeat(3);
        let long: String = long.chars().take(64).collect();
        assert!(policy().check(&long, "x@y.example").is_empty());
    }

    #[test]
    fn the_bundled_list_is_large_enough() {
        // Spot checks across the list: early, middle and late entries are all known.
        for common in ["password", "dragon", "qazwsxedcrfvtgb", "1234qwerasdfzxcv"] {
            assert!(is_common(common), "{common} is on the list");
        }
        assert!(!is_common("plum kettle orbit sandstone"));
    }
}
