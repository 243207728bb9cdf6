//! The idle lock: after the app's inactivity timeout, whatever is being written is saved
//! as a draft, the session is forgotten, and the password is needed again — checked by the
//! hub, or offline against a verifier kept in the (encrypted) vault.

use std::sync::atomic::Ordering;

use crate::compose::Compose;
use crate::error::{ClientError, Code, Result};
use crate::mailbox::Mailbox;
use crate::outbox::SendOutcome;
use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};

const VERIFIER: &str = "password_verifier";
/// Wrong passwords at the lock screen answered at once; each further one waits twice as long
/// as the last (2 s, 4 s, … at most a minute) before the next is checked.
const FREE_TRIES: u32 = 3;
/// Past this many wrong passwords in a row the lock screen stops checking on this computer:
/// the next tries go to the hub, and count towards its lock, as sign-ins do.
const LOCAL_TRIES: u32 = 10;
/// `nfkc` when the verifier was made from the normalised password; absent for older ones,
/// made from the password as typed.
const VERIFIER_FORM: &str = "password_verifier_form";

/// The time the lock screen's waits are measured in: this computer's monotonic clock,
/// plus whatever a test has moved it on by.
#[derive(Debug, Default)]
pub struct WaitClock(std::sync::atomic::AtomicU64);

impl WaitClock {
    /// Now.
    pub fn now(&self) -> std::time::Instant {
        std::time::Instant::now() + std::time::Duration::from_millis(self.0.load(Ordering::SeqCst))
    }

    /// Moves the clock on (tests).
    pub fn advance(&self, by: std::time::Duration) {
        self.0.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }
}

/// A password in NFKC, as the hub hashes it (NIST SP 800-63B rev. 4, 3.1.1.2).
fn nfkc(password: &str) -> crate::Sensitive<String> {
    use unicode_normalization::UnicodeNormalization;
    crate::Sensitive::new(password.nfkc().collect())
}

impl Mailbox {
    /// Keeps an Argon2id verifier of the (normalised) password in the vault, for unlocking
    /// without asking the hub.
    pub(crate) async fn keep_verifier(&self, password: &str) -> Result<()> {
        let password = nfkc(password);
        let phc = tokio::task::spawn_blocking(move || {
            let mut salt = [0u8; 16];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
            let salt = SaltString::encode_b64(&salt).expect("BUG: a 16-byte salt encodes");
            Argon2::default()
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|h| h.to_string())
        })
        .await?
        .map_err(|e| ClientError::Other(format!("the password verifier could not be made: {e}")))?;
        self.vault.set_setting(VERIFIER, &phc)?;
        self.vault.set_setting(VERIFIER_FORM, "nfkc")
    }

    /// Checks `password` against the verifier in the vault: `None` when there is none.
    async fn verify_locally(&self, password: &str) -> Result<Option<bool>> {
        let Some(phc) = self.vault.setting(VERIFIER)? else {
            return Ok(None);
        };
        let normalised = self.vault.setting(VERIFIER_FORM)?.as_deref() == Some("nfkc");
        let (typed, normal) = (crate::Sensitive::new(password.to_owned()), nfkc(password));
        let ok = tokio::task::spawn_blocking(move || {
            let Ok(hash) = PasswordHash::new(&phc) else {
                return false;
            };
            let matches = |p: &str| {
                Argon2::default()
                    .verify_password(p.as_bytes(), &hash)
                    .is_ok()
            };
            if normalised {
                matches(normal.expose())
            } else {
                matches(typed.expose()) || matches(normal.expose())
            }
        })
        .await?;
        if ok && !normalised {
            self.keep_verifier(password).await?;
        }
        Ok(Some(ok))
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
        let _one_at_a_time = self.locking.lock().await;
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

    /// Unlocks with the password, checked first against the verifier in the vault: a
    /// mistyped password is refused here and never reaches the hub, so it counts towards
    /// no lock. The right one lifts the lock; the session with the hub then comes back
    /// (with Remember me, without sending the password), or, offline, when the hub is back.
    /// A vault without a verifier (made by an older app) asks the hub.
    pub async fn unlock(&self, password: &str) -> Result<()> {
        let _after_the_lock = self.locking.lock().await;
        if password.is_empty() {
            return Err(ClientError::Refused {
                code: Code::InvalidCredentials,
                message: "Type the password of this mailbox.".into(),
                refused: Vec::new(),
            });
        }
        let (failures, wait_until) = *self.unlock_failures.lock().expect("BUG: poisoned");
        if let Some(until) = wait_until {
            let now = self.wait_clock.now();
            if now < until && failures < LOCAL_TRIES {
                let seconds = (until - now).as_secs() + 1;
                return Err(ClientError::Refused {
                    code: Code::RateLimited,
                    message: format!(
                        "Too many wrong passwords: wait {seconds} seconds, then try again."
                    ),
                    refused: Vec::new(),
                });
            }
        }
        let checked_here = if failures >= LOCAL_TRIES {
            None
        } else {
            self.verify_locally(password).await?
        };
        match checked_here {
            None => {
                // A successful sign-in lifts the lock itself.
                let outcome = self.sign_in(password, self.remembered()?).await;
                if outcome.is_ok() {
                    *self.unlock_failures.lock().expect("BUG: poisoned") = (0, None);
                }
                return match outcome {
                    Err(e) if e.code() == Code::Offline => Err(ClientError::Refused {
                        code: Code::Offline,
                        message: "The hub cannot be reached, and only the hub can check the \
                                  password now. Try again when the network is back."
                            .into(),
                        refused: Vec::new(),
                    }),
                    Err(e) if e.code() == Code::MfaRequired => Err(needs_code()),
                    other => other,
                };
            }
            Some(false) => {
                let failures = failures + 1;
                let wait = (failures >= FREE_TRIES).then(|| {
                    std::time::Duration::from_secs((1u64 << (failures - FREE_TRIES + 1)).min(60))
                });
                *self.unlock_failures.lock().expect("BUG: poisoned") =
                    (failures, wait.map(|w| self.wait_clock.now() + w));
                let message = if failures >= LOCAL_TRIES {
                    "That is not the password of this mailbox. After this many wrong passwords, \
                     the next ones are checked by the hub and count towards locking the mailbox."
                        .to_owned()
                } else {
                    "That is not the password of this mailbox. It was checked on this computer \
                     only, so it does not count towards a lock."
                        .to_owned()
                };
                return Err(ClientError::Refused {
                    code: Code::InvalidCredentials,
                    message,
                    refused: Vec::new(),
                });
            }
            Some(true) => {}
        }
        *self.unlock_failures.lock().expect("BUG: poisoned") = (0, None);
        self.lift_lock();
        let resumed = match self.remembered()? {
            true => match self.hub.refresh().await {
                // Remember me was revoked meanwhile: the password, known right, signs in.
                Err(e) if e.code() == Code::SignInRequired => self.sign_in(password, true).await,
                other => other.map(|_| ()),
            },
            false => self.sign_in(password, false).await,
        };
        match resumed {
            Ok(()) => Ok(()),
            Err(e) if e.code() == Code::Offline => Ok(()),
            Err(e) => {
                self.locked.store(true, Ordering::SeqCst);
                self.hub.set_locked(true);
                if e.code() == Code::MfaRequired {
                    return Err(needs_code());
                }
                if e.code() == Code::InvalidCredentials {
                    // The verifier here is older than the password: it was changed
                    // elsewhere (a reset, say). The hub's word wins.
                    return Err(ClientError::Refused {
                        code: Code::SignInRequired,
                        message: "The password of this mailbox was changed since this computer \
                                  last signed in. Sign in with the new password."
                            .into(),
                        refused: Vec::new(),
                    });
                }
                Err(e)
            }
        }
    }
}

/// The password was right but the hub wants the two-step code, which the lock screen does
/// not ask for: the way on is a sign-in, which does.
fn needs_code() -> ClientError {
    ClientError::Refused {
        code: Code::SignInRequired,
        message: "The password is right. This mailbox also needs the code from your \
                  authenticator app: sign in again to type it."
            .into(),
        refused: Vec::new(),
    }
}
