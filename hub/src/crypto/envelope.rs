//! Envelope encryption of stored content (storage format 2).
//!
//! Each mailbox has a random 256-bit **data key**, stored only wrapped (age, X25519) by the
//! hub's master key. Every content value of the mailbox's rows (a subject, a body, a
//! recipients list, attachment names, a contact) is sealed with it by XChaCha20-Poly1305
//! (RFC 8439's ChaCha20-Poly1305 with the 192-bit extended nonce of
//! draft-irtf-cfrg-xchacha-03), RustCrypto's `chacha20poly1305` crate.
//!
//! Why XChaCha20-Poly1305 rather than AES-256-GCM-SIV: a 192-bit nonce can be drawn at
//! random for every value with no counter shared between processes (`serve`, a
//! `sealpost-hub send` beside it, later several replicas) and no realistic chance of a
//! repeat; it runs in constant time without AES hardware; and the crate is the one age
//! already uses for its payloads, so no new cipher code enters the hub.
//!
//! A sealed value is `0x02 || nonce (24 bytes) || ciphertext || tag (16 bytes)`. The
//! associated data binds it to its place: the mailbox id, the row id and the field name,
//! each length-prefixed, so a value copied into another row, another field or another
//! mailbox fails to open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use zeroize::Zeroizing;

use super::{CryptoError, Sensitive};

/// The first byte of every value sealed by a data key: the storage format.
pub const FORMAT_V2: u8 = 2;

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// Bytes a sealed value adds to its plaintext.
pub const OVERHEAD: usize = 1 + NONCE_LEN + TAG_LEN;

/// Which value of a row a sealed value is; part of its associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// A message's subject line.
    Subject,
    /// A message's plain-text body.
    BodyText,
    /// A message's HTML body.
    BodyHtml,
    /// A message's To and Cc lists.
    Recipients,
    /// A message's attachment names and types.
    Attachments,
    /// An address-book contact.
    Contact,
    /// An address-book group.
    Group,
    /// The account's authenticator secret (two-step sign-in); its row is the account.
    MfaSecret,
    /// A named delegate's name; its row is the delegate's account id.
    DelegateName,
}

impl Field {
    /// The name bound into the associated data (never change one: stored values use it).
    pub fn name(self) -> &'static str {
        match self {
            Field::Subject => "message.subject",
            Field::BodyText => "message.body_text",
            Field::BodyHtml => "message.body_html",
            Field::Recipients => "message.recipients",
            Field::Attachments => "message.attachments",
            Field::Contact => "contact",
            Field::Group => "group",
            Field::MfaSecret => "mfa.secret",
            Field::DelegateName => "delegate.name",
        }
    }
}

/// Where a sealed value belongs: its mailbox (account id), row id and field.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// The mailbox's account id.
    pub mailbox: &'a str,
    /// The row's id (a message, contact or group id).
    pub row: &'a str,
    /// The field.
    pub field: Field,
}

impl Place<'_> {
    fn associated_data(&self) -> Vec<u8> {
        let mut ad = Vec::with_capacity(32 + self.mailbox.len() + self.row.len());
        ad.extend_from_slice(b"sealpost storage v2");
        for part in [self.mailbox, self.row, self.field.name()] {
            ad.extend_from_slice(&(part.len() as u32).to_be_bytes());
            ad.extend_from_slice(part.as_bytes());
        }
        ad
    }
}

/// A mailbox's data key, unwrapped. The cipher state is zeroised when dropped.
pub struct DataKey(XChaCha20Poly1305);

impl DataKey {
    /// A new random key and its 32 bytes (to be wrapped, then dropped).
    pub fn generate() -> (Self, Zeroizing<[u8; 32]>) {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        (
            Self::from_bytes(bytes.as_ref()).expect("BUG: 32 bytes"),
            bytes,
        )
    }

    /// A key from its 32 bytes.
    ///
    /// # Errors
    /// `Decrypt` when `bytes` is not 32 bytes long (a damaged wrapped key).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        XChaCha20Poly1305::new_from_slice(bytes)
            .map(Self)
            .map_err(|_| CryptoError::Decrypt)
    }

    /// Seals `plaintext` for `place` with a fresh random nonce.
    pub fn seal(&self, place: Place, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ad = place.associated_data();
        let ciphertext = self
            .0
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &ad,
                },
            )
            .expect("BUG: XChaCha20-Poly1305 seals any length a row holds");
        let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
        out.push(FORMAT_V2);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    /// Opens a value sealed for `place`.
    ///
    /// # Errors
    /// `Sealed` when the value is not of this format, was altered, was sealed for another
    /// row, field or mailbox, or with another key: the tag does not verify.
    pub fn open(&self, place: Place, sealed: &[u8]) -> Result<Sensitive<Vec<u8>>, CryptoError> {
        self.open_plain(place, sealed).map(Sensitive::new)
    }

    /// [`DataKey::open`] for a value that becomes part of an answer at once (a subject or
    /// a body headed for JSON): the plaintext is handed over as is, not in a wrapper that
    /// zeroises it, since the answer it moves into is not zeroised either. Saves a copy.
    ///
    /// # Errors
    /// As [`DataKey::open`].
    pub fn open_plain(&self, place: Place, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let refused = || CryptoError::Sealed {
            row: place.row.to_owned(),
            field: place.field.name(),
        };
        if sealed.len() < OVERHEAD || sealed[0] != FORMAT_V2 {
            return Err(refused());
        }
        let (nonce, ciphertext) = sealed[1..].split_at(NONCE_LEN);
        let ad = place.associated_data();
        self.0
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &ad,
                },
            )
            .map_err(|_| refused())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place<'a>(mailbox: &'a str, row: &'a str, field: Field) -> Place<'a> {
        Place {
            mailbox,
            row,
            field,
        }
    }

    #[test]
    fn a_value_opens_only_in_its_own_place() {
        let (key, _) = DataKey::generate();
        let home = place("acc_a", "msg_1", Field::Subject);
        let sealed = key.seal(home, b"Care plan");
        assert_eq!(key.open(home, &sealed).unwrap().expose(), b"Care plan");
        for elsewhere in [
            place("acc_a", "msg_2", Field::Subject),
            place("acc_b", "msg_1", Field::Subject),
            place("acc_a", "msg_1", Field::BodyText),
        ] {
            let err = key.open(elsewhere, &sealed).expect_err("refused");
            assert!(
                matches!(err, CryptoError::Sealed { .. }),
                "a value moved to {elsewhere:?} must not open: {err}"
            );
        }
        let (other, _) = DataKey::generate();
        assert!(
            other.open(home, &sealed).is_err(),
            "another mailbox's key opens nothing"
        );
    }

    #[test]
    fn nonces_are_fresh_and_the_plaintext_is_not_in_the_value() {
        let (key, _) = DataKey::generate();
        let home = place("acc_a", "msg_1", Field::BodyText);
        let a = key.seal(home, b"the same body");
        let b = key.seal(home, b"the same body");
        assert_ne!(a, b, "each seal draws its own nonce");
        assert_eq!(a.len(), OVERHEAD + 13);
        assert!(!a.windows(4).any(|w| w == b"same"));
    }

    #[test]
    fn altered_or_truncated_values_are_refused_without_panicking() {
        let (key, _) = DataKey::generate();
        let home = place("acc_a", "msg_1", Field::Recipients);
        let sealed = key.seal(home, b"{}");
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(
                key.open(home, &bad).is_err(),
                "a flipped bit at {i} is caught"
            );
        }
        for n in 0..sealed.len() {
            assert!(key.open(home, &sealed[..n]).is_err());
        }
    }

    #[test]
    fn associated_data_cannot_be_shifted_between_parts() {
        // "ab" + "c" and "a" + "bc" must not give the same associated data.
        let x = place("ab", "c", Field::Group).associated_data();
        let y = place("a", "bc", Field::Group).associated_data();
        assert_ne!(x, y);
    }
}
