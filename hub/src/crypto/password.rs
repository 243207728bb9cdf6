use std::cell::RefCell;

use argon2::{
    password_hash::{Output, PasswordHash, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};

use super::CryptoError;
use crate::clock::Entropy;

/// Argon2id with OWASP's minimum recommendation: 19 MiB of memory, 2 passes, 1 lane.
pub const HASH_PARAMS: (u32, u32, u32) = (19 * 1024, 2, 1);

thread_local! {
    /// Argon2's working memory, allocated once per hashing thread and reused. Allocating
    /// 19 MiB per hash lets the C allocator strand freed blocks in many arenas: under a
    /// sign-in flood the process grew by hundreds of MiB. With one buffer per thread and a
    /// fixed number of hashing threads, the memory is bounded.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Hashes and verifies passwords with Argon2id.
pub struct PasswordHasher {
    params: Params,
    /// A hash of nothing anyone knows, verified against when an address is unknown so that
    /// unknown and known addresses cost the same time.
    decoy: String,
}

impl PasswordHasher {
    /// A hasher with the hub's parameters.
    pub fn new(entropy: &dyn Entropy) -> Result<Self, CryptoError> {
        let (m, t, p) = HASH_PARAMS;
        let params = Params::new(m, t, p, None).expect("BUG: Argon2 parameters are valid");
        // Random salt and random output: no password hashes to it, and making it costs nothing.
        let mut salt = [0u8; 16];
        let mut output = [0u8; 32];
        entropy.fill(&mut salt);
        entropy.fill(&mut output);
        let decoy = phc(&params, &salt, &output)?;
        Ok(Self { params, decoy })
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) for `password`.
    pub fn hash(&self, password: &str, entropy: &dyn Entropy) -> Result<String, CryptoError> {
        let mut salt = [0u8; 16];
        entropy.fill(&mut salt);
        let mut output = [0u8; 32];
        raw_hash(&self.params, password.as_bytes(), &salt, &mut output)?;
        phc(&self.params, &salt, &output)
    }

    /// Whether `password` matches `stored`. A malformed stored hash never matches.
    pub fn verify(&self, stored: &str, password: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(stored) else {
            return false;
        };
        if parsed.algorithm != Algorithm::Argon2id.ident() {
            return false;
        }
        let (Ok(params), Some(salt), Some(expected)) =
            (Params::try_from(&parsed), parsed.salt, parsed.hash)
        else {
            return false;
        };
        let mut salt_buf = [0u8; 64];
        let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
            return false;
        };
        let mut output = vec![0u8; expected.len()];
        if raw_hash(&params, password.as_bytes(), salt, &mut output).is_err() {
            return false;
        }
        // Output's equality is constant-time.
        Output::new(&output).is_ok_and(|o| o == expected)
    }

    /// Spends the same work as a real verification and fails.
    pub fn verify_decoy(&self, password: &str) -> bool {
        let _ = self.verify(&self.decoy, password);
        false
    }
}

fn raw_hash(
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        let count = params.block_count();
        if blocks.len() < count {
            blocks.resize(count, Block::default());
        }
        argon
            .hash_password_into_with_memory(password, salt, out, &mut blocks[..count])
            .map_err(|e| CryptoError::Encrypt(format!("password hashing failed: {e}")))
    })
}

fn phc(params: &Params, salt: &[u8], output: &[u8]) -> Result<String, CryptoError> {
    let salt = SaltString::encode_b64(salt).map_err(|e| CryptoError::Encrypt(e.to_string()))?;
    let output = Output::new(output).map_err(|e| CryptoError::Encrypt(e.to_string()))?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        salt.as_str(),
        output
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsEntropy;
    use argon2::PasswordVerifier;

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
        assert!(!hasher.verify("not a hash", "anything"));
    }

    #[test]
    fn hashes_are_standard_phc_strings_other_tools_verify() {
        // Interoperability both ways with the argon2 crate's own PHC implementation.
        let hasher = PasswordHasher::new(&OsEntropy).unwrap();
        let ours = hasher.hash("lantern violet harbour", &OsEntropy).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"lantern violet harbour", &parsed)
            .is_ok());
        let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
        let theirs =
            argon2::PasswordHasher::hash_password(&Argon2::default(), b"cedar moss", &salt)
                .unwrap()
                .to_string();
        assert!(hasher.verify(&theirs, "cedar moss"));
    }
}
