//! The idle lock: after the app's inactivity timeout, whatever is being written is saved
//! as a draft, the session is forgotten, and the password is needed again — checked by the
//! hub, or offline against a verifier kept in the (encrypted) vault.

use std::sync::atomic::Ordering;

use crate::accounts::Mailbox;
use crate::compose::Compose;
use crate::error::{ClientError, Code, Result};
use crate::outbox::SendOutcome;
use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};

const VERIFIER: &str = "password_verifier";

impl Mailbox {
    /// Keeps an Argon2id verifier of the password in the vault, for unlocking offline.
    pub(crate) async fn keep_verifier(&self, password: &str) -> Result<()> {
        let password = crate::Sensitive::new(password.to_owned());
        let phc = tokio::task::spawn_blocking(move || {
            let mut salt = [0u8; 16];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
            let salt = SaltString::encode_b64(&salt).expect("BUG: a 16-byte salt encodes");
            Argon2::default()
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|h| h.to_string())
        })
        .await
        .map_err(|e| ClientError::Other(e.to_string()))?
        .map_err(|e| ClientError::Other(format!("the password verifier could not be made: {e}")))?;
        self.vault.set_setting(VERIFIER, &phc)
    }

    /// Whether the mailbox is locked.
    pub fn is_locked(&self) -> bool {
        self.locked.load(Ordering::SeqCst)
    }

    /// Locks: saves `compose` (if it holds anything) as a draft first, keeping it open for
    /// after the unlock, then forgets the session. The lock holds whatever happens to the
    /// draft; a draft that could not be saved stays kept on this computer, and the error
    /// says why.
    pub async fn lock(&self, compose: Option<Compose>) -> Result<Option<(SendOutcome, Compose)>> {
        let saved = match compose.filter(Compose::has_content) {
            Some(c) => match self.save_compose(c.clone(), true).await {
                Ok(saved) => Ok(Some(saved)),
                // Queued: it leaves with the first flush after the next sign-in.
                Err(e) if e.code() == Code::SignInRequired => Ok(None),
                Err(e) => {
                    let _ = self.keep_compose(c);
                    Err(e)
                }
            },
            None => Ok(None),
        };
        self.locked.store(true, Ordering::SeqCst);
        self.hub.set_locked(true);
        saved
    }

    /// Lets the session go on after the password was given again.
    pub(crate) fn lift_lock(&self) {
        self.hub.set_locked(false);
        self.locked.store(false, Ordering::SeqCst);
    }

    /// Unlocks with the password: checked by the hub when it answers, else against the
    /// local verifier.
    pub async fn unlock(&self, password: &str) -> Result<()> {
        let remember = self.remembered()?;
        // A successful sign-in lifts the lock itself.
        match self.sign_in(password, remember).await {
            Err(e) if e.code() == Code::Offline => {
                let stored = self.vault.setting(VERIFIER)?;
                let password = crate::Sensitive::new(password.to_owned());
                let ok = tokio::task::spawn_blocking(move || {
                    stored.is_some_and(|phc| {
                        PasswordHash::new(&phc).is_ok_and(|h| {
                            Argon2::default()
                                .verify_password(password.expose().as_bytes(), &h)
                                .is_ok()
                        })
                    })
                })
                .await
                .map_err(|e| ClientError::Other(e.to_string()))?;
                if ok {
                    self.lift_lock();
                    Ok(())
                } else {
                    Err(ClientError::Refused {
                        code: Code::InvalidCredentials,
                        message: "That is not the password of this mailbox.".into(),
                        refused: Vec::new(),
                    })
                }
            }
            signed_in => signed_in,
        }
    }
}
