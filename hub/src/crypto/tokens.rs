use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use sha2::{Digest, Sha256};

use super::Sensitive;
use crate::clock::Entropy;

/// A new bearer secret: `prefix` followed by 256 random bits, URL-safe.
pub fn new_token(entropy: &dyn Entropy, prefix: &str) -> Sensitive<String> {
    let mut bytes = [0u8; 32];
    entropy.fill(&mut bytes);
    let token = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    bytes.fill(0);
    Sensitive::new(token)
}

/// How a token is stored: its SHA-256. Tokens carry 256 random bits, so a fast hash is
/// enough; a database dump cannot be replayed.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new opaque id: `prefix` followed by 96 random bits.
pub fn new_id(entropy: &dyn Entropy, prefix: &str) -> String {
    let mut bytes = [0u8; 12];
    entropy.fill(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsEntropy;

    #[test]
    fn tokens_differ_and_hash_stably() {
        let a = new_token(&OsEntropy, "t_");
        let b = new_token(&OsEntropy, "t_");
        assert_ne!(a.expose(), b.expose(), "two tokens never collide");
        assert_eq!(hash_token(a.expose()), hash_token(a.expose()));
        assert_ne!(
            hash_token(a.expose()),
            *a.expose(),
            "the stored form is not the token"
        );
        assert_eq!(a.expose().len(), 2 + 43, "256 bits in unpadded base64url");
    }

    #[test]
    fn tokens_come_from_the_injected_random_source() {
        use crate::clock::SeededEntropy;
        let one = new_token(&SeededEntropy::new(7), "t_");
        let two = new_token(&SeededEntropy::new(7), "t_");
        assert_eq!(
            one.expose(),
            two.expose(),
            "same seed, same token: nothing else is used"
        );
        assert_ne!(
            new_id(&SeededEntropy::new(7), "x_"),
            new_id(&SeededEntropy::new(8), "x_")
        );
    }
}
