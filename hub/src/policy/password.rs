use sealpost_proto::{PasswordRule, PasswordRules};
use unicode_normalization::UnicodeNormalization;

/// A password in NFKC, the form it is hashed, checked and measured in: the same text typed
/// with composed or decomposed accents (or a compatibility character) is the same password
/// (NIST SP 800-63B rev. 4, 3.1.1.2; Unicode UAX #15).
pub fn nfkc(password: &str) -> String {
    password.nfkc().collect()
}

/// The least number of guesses, as zxcvbn estimates them, a password must need: 10^10,
/// zxcvbn's "very unguessable" (score 4), "strong protection from an offline slow-hash
/// attack". That is the attack that matters here: online guessing meets the lockout (3
/// tries in 30 minutes), whereas a stolen database gives an attacker as many tries as they
/// can pay for, each an Argon2id hash (about 50 ms of a core): 10^10 of them are some 16
/// core-years. NIST SP 800-63B rev. 4 (3.1.1.2) asks to refuse "commonly used, expected, or
/// compromised" values; zxcvbn estimates how expected a password is from its common
/// password, word and name lists, repeats, sequences, keyboard walks, dates and l33t
/// substitutions, and from the person's own address, as an attacker would try them.
pub const MIN_GUESSES_LOG10: f64 = 10.0;

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
                    "Not easy to guess: not a common password, word or name, and not made of \
                     repeats, sequences (abcdef, 123456) or keyboard patterns (qwerty)"
                        .into(),
                ),
                rule(
                    "not_address",
                    "Does not contain your email address or its name part".into(),
                ),
            ],
        }
    }

    /// The rules `password` breaks for `email`, in words; empty when it is acceptable.
    pub fn broken_rules(&self, password: &str, email: &str) -> Vec<PasswordRule> {
        let failed = self.check(password, email);
        self.rules()
            .rules
            .into_iter()
            .filter(|r| failed.contains(&r.id))
            .collect()
    }

    /// The ids of the rules `password` breaks for `email`; empty when it is acceptable.
    /// The password is judged in the form it is hashed in (NFKC).
    pub fn check(&self, password: &str, email: &str) -> Vec<String> {
        let password = &nfkc(password);
        let mut failed = Vec::new();
        let length = password.chars().count() as u32;
        if length < self.min_length {
            failed.push("min_length".to_owned());
        }
        if length > self.max_length {
            failed.push("max_length".to_owned());
        }
        if length <= self.max_length && is_predictable(password, email) {
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

/// Whether an attacker would guess `password` in fewer than 10^`MIN_GUESSES_LOG10` tries,
/// knowing the address it protects.
fn is_predictable(password: &str, email: &str) -> bool {
    if password.is_empty() {
        return false;
    }
    let mut known: Vec<&str> = email.split(['@', '.', '+', '-', '_']).collect();
    known.push(email);
    known.retain(|w| w.chars().count() >= 3);
    zxcvbn::zxcvbn(password, &known).guesses_log10() < MIN_GUESSES_LOG10
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
        assert_eq!(p.check("k9#Lm2vQx!7Zp", "x@y.example"), vec!["min_length"]);
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
            assert!(is_predictable(common, ""), "{common} is on the list");
        }
        assert!(!is_predictable("plum kettle orbit sandstone", ""));
    }

    #[test]
    fn repeats_sequences_walks_and_repeated_words_are_refused() {
        let p = policy();
        for expected in [
            "aaaaaaaaaaaaaaaaaaaa",
            "abcdefghijklmnopqr",
            "passwordpassword",
            "zxcvbnmasdfghjklqwerty",
            "qwertyuiopasdfghjkl",
            "1234567890123456",
            "abcabcabcabcabcabc",
            "iloveyouiloveyou",
            "Summer2026Summer2026",
            "mypasswordismypassword",
        ] {
            assert_eq!(
                p.check(expected, "x@y.example"),
                vec!["not_common"],
                "{expected} is what an attacker tries early"
            );
        }
        assert_eq!(
            p.check("partnerpartnerpartner", "referrals@partner.example"),
            vec!["not_common"],
            "the address's own words count as known"
        );
        for fine in [
            "plum kettle orbit sandstone",
            "Crème brûlée at noon, twice",
            "a different long passphrase",
        ] {
            assert!(p.check(fine, "x@y.example").is_empty(), "{fine} is fine");
        }
    }
}
