//! Email addresses: the one rule by which the hub, the client, the terminal client and the
//! window decide whether two addresses are the same person.
//!
//! [`normalise`] turns what a person typed into the form the hub stores and compares:
//!
//! - surrounding spaces are dropped;
//! - the whole address is lower-cased. RFC 5321 §2.4 lets a receiving server treat the local
//!   part as case-sensitive, but no mail system in use does, and a hub that told `Ann@` from
//!   `ann@` would give one person two mailboxes;
//! - the local part is put in Unicode normalisation form C (RFC 6532 3.1), and full-width
//!   letters and digits become their ASCII forms (`ａｎｎ` → `ann`, the width mapping of
//!   RFC 8264 9.3), so that an address typed or sent in another form of the same text is one
//!   address;
//! - a local part holding a character that shows nothing (a control, white space, or a
//!   default-ignorable or format character such as U+200B ZERO WIDTH SPACE, U+00AD SOFT
//!   HYPHEN or U+202E RIGHT-TO-LEFT OVERRIDE; Unicode's DerivedCoreProperties) is refused:
//!   it would look like another person's address;
//! - one trailing dot on the domain (the DNS root, `example.org.`) is dropped;
//! - an internationalised domain becomes its ASCII (A-label) form by UTS #46 / IDNA 2008
//!   (`bücher.example` → `xn--bcher-kva.example`), so both spellings are one address.
//!
//! Nothing else is folded: sub-addresses (`ann+care@`), dots in the local part and
//! sub-domains stay different addresses, as the organisation's mail server treats them.
//! Quoted local parts, comments, IP-literal domains and single-label domains
//! (`root@localhost`) are refused: none can receive a notification from the hub.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// Why a text is not an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AddressError {
    /// Nothing but spaces.
    Empty,
    /// No `@`, nothing before it, or characters an address cannot hold before it.
    LocalPart,
    /// Nothing after the `@`, no dot in it, or not a domain name.
    Domain,
}

impl fmt::Display for AddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "no address was given",
            Self::LocalPart => "the part before the @ is not valid in an email address",
            Self::Domain => "the part after the @ is not a domain name such as example.org",
        })
    }
}

impl std::error::Error for AddressError {}

/// The stored form of an address (see the module's rules): `" Ann@Bücher.Example. "` →
/// `"ann@xn--bcher-kva.example"`.
///
/// # Errors
/// [`AddressError`] naming the part that is wrong.
pub fn normalise(raw: &str) -> Result<String, AddressError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(AddressError::Empty);
    }
    let (local, domain) = raw.rsplit_once('@').ok_or(AddressError::LocalPart)?;
    if local.chars().any(invisible) {
        return Err(AddressError::LocalPart);
    }
    let local: String = local
        .chars()
        .map(narrow)
        .collect::<String>()
        .to_lowercase()
        .nfc()
        .collect();
    // Quoted forms are valid RFC 5322 but a person never types one, and they would let
    // spaces and a second @ into an address.
    if local.starts_with('"') || !email_address::EmailAddress::is_valid_local_part(&local) {
        return Err(AddressError::LocalPart);
    }
    Ok(format!("{local}@{}", normalise_domain(domain)?))
}

/// Whether `c` shows nothing where it stands: controls, white space, and what
/// [`crate::text::hides_text`] names (Unicode's default-ignorable characters).
fn invisible(c: char) -> bool {
    c.is_control() || c.is_whitespace() || crate::text::hides_text(c)
}

/// A full-width ASCII character (U+FF01..U+FF5E) as its ASCII form; others as they are.
fn narrow(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c),
        _ => c,
    }
}

/// An address (or any text) for a message or a protocol reply: printable ASCII as it is,
/// every other character as `\u{…}`, so that nothing in it can hide or reorder what is
/// shown around it.
pub fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_graphic() || c == ' ' {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    out
}

/// The stored form of a domain name: spaces, a leading `@` and one trailing dot dropped,
/// lower-cased, IDN to ASCII; it must have at least two labels (`example.org`).
///
/// # Errors
/// [`AddressError::Domain`] when it is not a domain name.
pub fn normalise_domain(raw: &str) -> Result<String, AddressError> {
    let raw = raw.trim();
    let raw = raw.strip_prefix('@').unwrap_or(raw);
    let raw = raw.strip_suffix('.').unwrap_or(raw);
    if raw.is_empty() || raw.starts_with('[') {
        return Err(AddressError::Domain);
    }
    let ascii = idna::domain_to_ascii(raw).map_err(|_| AddressError::Domain)?;
    if !ascii.contains('.') || !email_address::EmailAddress::is_valid_domain(&ascii) {
        return Err(AddressError::Domain);
    }
    Ok(ascii)
}

/// Whether two texts are the same address under [`normalise`]; two texts that are not
/// addresses are never the same.
pub fn same(a: &str, b: &str) -> bool {
    matches!((normalise(a), normalise(b)), (Ok(a), Ok(b)) if a == b)
}

/// Whether `address` is in one of `domains` (exactly: a sub-domain is another domain).
/// Both sides are normalised, so stored and typed forms compare alike.
pub fn in_domains(address: &str, domains: &[String]) -> bool {
    let Ok(address) = normalise(address) else {
        return false;
    };
    let Some((_, domain)) = address.rsplit_once('@') else {
        return false;
    };
    domains
        .iter()
        .any(|d| normalise_domain(d).is_ok_and(|d| d == domain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_of_one_address_become_one() {
        for (typed, stored) in [
            ("ann@partner.example", "ann@partner.example"),
            ("  Ann@Partner.Example\t", "ann@partner.example"),
            ("ANN@PARTNER.EXAMPLE", "ann@partner.example"),
            ("ann@partner.example.", "ann@partner.example"),
            ("ann@bücher.example", "ann@xn--bcher-kva.example"),
            ("ann@BÜCHER.example", "ann@xn--bcher-kva.example"),
            ("ann@xn--bcher-kva.example", "ann@xn--bcher-kva.example"),
            (
                "Ann.Smith+care@partner.example",
                "ann.smith+care@partner.example",
            ),
            ("zoë@partner.example", "zoë@partner.example"),
            ("ZOË@partner.example", "zoë@partner.example"),
            ("o'neil@partner.example", "o'neil@partner.example"),
            // The same text in another Unicode form, or in full-width letters.
            ("zoe\u{301}@partner.example", "zo\u{e9}@partner.example"),
            (
                "\u{FF41}\u{FF4E}\u{FF4E}@partner.example",
                "ann@partner.example",
            ),
            ("ＡＮＮ@ｐａｒｔｎｅｒ.example", "ann@partner.example"),
            ("ann@partner\u{200B}.example", "ann@partner.example"),
        ] {
            assert_eq!(normalise(typed).as_deref(), Ok(stored), "{typed:?}");
        }
    }

    #[test]
    fn different_addresses_stay_different() {
        for (a, b) in [
            ("ann+care@partner.example", "ann@partner.example"),
            ("ann.smith@partner.example", "annsmith@partner.example"),
            ("ann@partner.example", "ann@mail.partner.example"),
            ("ann@partner.example", "ann@partner.example.org"),
            ("ann@bucher.example", "ann@bücher.example"),
            ("ann@partner.example", "anne@partner.example"),
        ] {
            assert!(!same(a, b), "{a} and {b} are two people");
        }
        assert!(same("Ann@Bücher.Example.", "ann@xn--bcher-kva.example"));
    }

    #[test]
    fn texts_that_are_not_addresses_say_which_part_is_wrong() {
        for (typed, why) in [
            ("", AddressError::Empty),
            ("   ", AddressError::Empty),
            ("ann", AddressError::LocalPart),
            ("@partner.example", AddressError::LocalPart),
            ("ann smith@partner.example", AddressError::LocalPart),
            ("\"ann smith\"@partner.example", AddressError::LocalPart),
            ("a@b@partner.example", AddressError::LocalPart),
            ("ann..smith@partner.example", AddressError::LocalPart),
            (".ann@partner.example", AddressError::LocalPart),
            ("ann@", AddressError::Domain),
            ("ann@localhost", AddressError::Domain),
            ("ann@[127.0.0.1]", AddressError::Domain),
            ("ann@partner..example", AddressError::Domain),
            ("ann@partner.example..", AddressError::Domain),
            ("ann@-partner.example", AddressError::Domain),
            ("ann@part ner.example", AddressError::Domain),
            // Characters that show nothing, so that the address looks like another.
            ("ann\u{200B}@partner.example", AddressError::LocalPart),
            ("ann\u{202E}@partner.example", AddressError::LocalPart),
            ("an\u{AD}n@partner.example", AddressError::LocalPart),
            ("\u{FEFF}ann@partner.example", AddressError::LocalPart),
            ("ann\u{2060}@partner.example", AddressError::LocalPart),
            ("ann\u{E0041}@partner.example", AddressError::LocalPart),
            ("ann\u{A0}@partner.example", AddressError::LocalPart),
            ("ann\u{3164}@partner.example", AddressError::LocalPart),
            ("a\u{0}nn@partner.example", AddressError::LocalPart),
        ] {
            assert_eq!(normalise(typed), Err(why), "{typed:?}");
        }
        assert!(!same("not an address", "not an address"));
    }

    #[test]
    fn domains_match_whole_and_in_either_spelling() {
        let org = vec!["Example.gov.uk".to_owned(), "@bücher.example.".to_owned()];
        assert!(in_domains("ann@example.gov.uk", &org));
        assert!(in_domains(" ANN@EXAMPLE.GOV.UK ", &org));
        assert!(in_domains("ann@xn--bcher-kva.example", &org));
        assert!(
            !in_domains("ann@mail.example.gov.uk", &org),
            "a sub-domain is not the org"
        );
        assert!(!in_domains("ann@example.gov.uk.evil.example", &org));
        assert!(!in_domains("ann@gov.uk", &org));
        assert!(!in_domains("example.gov.uk", &org));
        assert_eq!(
            normalise_domain(" @Example.ORG. "),
            Ok("example.org".into())
        );
        assert_eq!(normalise_domain("localhost"), Err(AddressError::Domain));
    }
}

#[cfg(test)]
mod shown_tests {
    use super::*;

    #[test]
    fn what_is_shown_hides_nothing() {
        assert_eq!(shown("ann@partner.example"), "ann@partner.example");
        assert_eq!(shown("ann\u{202E}lpd.exe"), "ann\\u{202e}lpd.exe");
        assert_eq!(shown("zoé\r\n"), "zo\\u{e9}\\u{d}\\u{a}");
    }
}
