use argon2::{
    password_hash::{PasswordHash, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};

use super::CryptoError;
use crate::clock::Entropy;

/// Argon2id with OWASP's minimum recommendation: 19 MiB of memory, 2 passes, 1 lane.
pub const HASH_PARAMS: (u32, u32, u32) = (19 * 1024, 2, 1);

/// Hashes and verifies passwords with Argon2id.
pub struct PasswordHasher {
    argon: Argon2<'static>,
    /// A hash of a random password, verified against when an address is unknown so that
    /// unknown and known addresses cost the same time.
    decoy: String,
}

impl PasswordHasher {
    /// A hasher with the hub's parameters.
    pub fn new(entropy: &dyn Entropy) -> Result<Self, CryptoError> {
        let (m, t, p) = HASH_PARAMS;
        let params = Params::new(m, t, p, None).expect("BUG: Argon2 parameters are valid");
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut decoy_password = [0u8; 32];
        entropy.fill(&mut decoy_password);
        let mut hasher = Self {
            argon,
            decoy: String::new(),
        };
        hasher.decoy = hasher.hash(&hex::encode(decoy_password), entropy)?;
        Ok(hasher)
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) for `password`.
    pub fn hash(&self, password: &str, entropy: &dyn Entropy) -> Result<String, CryptoError> {
        let mut salt = [0u8; 16];
        entropy.fill(&mut salt);
        let salt = SaltString::encode_b64(&salt).expect("BUG: a 16-byte salt encodes");
        argon2::PasswordHasher::hash_password(&self.argon, password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| CryptoError::Encrypt(e.to_string()))
    }

    /// Whether `password` matches `stored`. A malformed stored hash never matches.
    pub fn verify(&self, stored: &str, password: &str) -> bool {
        match PasswordHash::new(stored) {
            Ok(parsed) => self
                .argon
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    }

    /// Spends the same work as a real verification and fails.
    pub fn verify_decoy(&self, password: &str) -> bool {
        let _ = self.verify(&self.decoy, password);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsEntropy;

    #[test]
    fn hash_is_argon2id_with_owasp_parameters_and_verifies() {
        let hasher = PasswordHasher::new(&OsEntropy).unwrap();
        let h = hasher
            .hash("correct horse battery staple", &OsEntropy)
            .unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(hasher.verify(&h, "correct horse battery staple"));
        assert!(!hasher.verify(&h, "correct horse battery stapler"));
        assert!(!hasher.verify_decoy("anything at all"));
    }
}
