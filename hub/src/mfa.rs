//! Two-step sign-in: an authenticator app's codes (RFC 6238 TOTP: HMAC-SHA-1, 6 digits,
//! 30-second steps, as every common authenticator app reads from an `otpauth://` URI), and
//! ten single-use recovery codes for a lost phone.
//!
//! The secret is sealed with the mailbox's data key, as content is. A code is taken at
//! most once: the last step used is stored, and a code of that step or an earlier one is
//! refused (RFC 6238 §5.2 asks that a verifier not accept the second attempt of a valid
//! OTP). One step of clock drift either way is allowed (§6).

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use totp_rs::{Algorithm, TOTP};

use crate::accounts::Authenticated;
use crate::crypto::envelope::{Field, Place};
use crate::error::{Error, Result};
use crate::hub::{Caller, Hub};

/// Seconds in one TOTP step (RFC 6238's `X`, its default).
pub const STEP_SECONDS: i64 = 30;
/// Digits in a code.
pub const DIGITS: usize = 6;
/// Recovery codes made at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// Bytes of a new secret: 160 bits, the HMAC-SHA-1 output size RFC 4226 §4 recommends.
const SECRET_BYTES: usize = 20;
/// The letters of recovery codes: no 0/o, 1/l/i, so that a code read from paper is
/// typed right.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// What an authenticator app needs to enrol: the secret as text (base32, RFC 4648) and
/// the same as an `otpauth://totp/…` URI for a QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaSetup {
    /// Base32 without padding.
    pub secret: String,
    /// `otpauth://totp/Issuer:address?secret=…&issuer=…` (Google Authenticator's Key URI
    /// format, which other apps read too).
    pub otpauth_uri: String,
}

/// How a second step was proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proof {
    /// A code from the authenticator.
    Code,
    /// A recovery code (used up now); this many are left.
    Recovery(u32),
}

/// The TOTP of a secret for `address`, as the hub checks and apps show it.
fn totp(secret: Vec<u8>, issuer: &str, address: &str) -> Result<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        0,
        STEP_SECONDS as u64,
        secret,
        Some(issuer.replace(':', " ")),
        address.to_owned(),
    )
    .map_err(|e| Error::Other(format!("the authenticator secret is unusable: {e}")))
}

/// The RFC 6238 time step of `t`.
pub fn step_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(STEP_SECONDS)
}

/// The longest second step looked at, in characters; anything longer is wrong at once.
const MAX_CODE_CHARS: usize = 64;

/// A recovery code as stored: HMAC-SHA-256 of its letters (lower case, without spaces or
/// dashes) keyed with the account's TOTP secret, which is itself sealed. A copy of the
/// database alone therefore cannot be searched for the codes (about 50 bits each), and
/// online guesses meet the lockout.
fn recovery_digest(secret: &[u8], code: &str) -> String {
    // Full-width letters (an East Asian keyboard's) read as the ASCII ones (NFKC).
    let letters: String = crate::policy::nfkc(code)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("BUG: HMAC takes any key");
    mac.update(letters.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `text` could be a second step at all: an authenticator code's shape, or a
/// recovery code's (ten letters or digits, separators aside). Anything else is a slip of
/// the keyboard, never a guess worth counting.
pub(crate) fn plausible_second_step(text: &str) -> bool {
    if text.chars().count() > MAX_CODE_CHARS {
        return false;
    }
    let letters = crate::policy::nfkc(text)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .count();
    looks_like_code(text).is_some() || letters == 10
}

/// Whether `text` has the shape of an authenticator code (six digits, spaces allowed;
/// full-width digits read as ASCII ones, by NFKC).
fn looks_like_code(text: &str) -> Option<String> {
    let digits: String = crate::policy::nfkc(text)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    (digits.len() == DIGITS && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

impl Hub {
    fn issuer(&self) -> String {
        format!("{} secure messages", self.config.org_name)
    }

    /// The account's address, its authenticator's secret (opened) and whether it is on, if
    /// one exists.
    async fn mfa_secret(&self, account_id: &str) -> Result<Option<(String, Vec<u8>, bool)>> {
        Ok(self
            .mfa_secret_sealed(account_id)
            .await?
            .map(|(email, secret, on, _)| (email, secret, on)))
    }

    /// As [`Hub::mfa_secret`], with the sealed secret as stored.
    async fn mfa_secret_sealed(
        &self,
        account_id: &str,
    ) -> Result<Option<(String, Vec<u8>, bool, Vec<u8>)>> {
        let id = account_id.to_owned();
        let found = self
            .store
            .read(move |tx| {
                let account = tx.account_by_id(&id)?.ok_or(Error::Unauthenticated)?;
                Ok(tx.mfa(&id)?.map(|m| (account.email, m)))
            })
            .await?;
        let Some((email, mfa)) = found else {
            return Ok(None);
        };
        let keys = self.mailbox_key(account_id).await?;
        let secret = keys.data.open(
            Place {
                mailbox: account_id,
                row: account_id,
                field: Field::MfaSecret,
            },
            &mfa.sealed_secret,
        )?;
        Ok(Some((
            email,
            secret.expose().clone(),
            mfa.enabled_at.is_some(),
            mfa.sealed_secret,
        )))
    }

    /// Whether the account has two-step sign-in on.
    pub async fn mfa_enabled(&self, account_id: &str) -> Result<bool> {
        let id = account_id.to_owned();
        Ok(self
            .store
            .read(move |tx| tx.mfa(&id))
            .await?
            .is_some_and(|m| m.enabled_at.is_some()))
    }

    /// Whether two-step sign-in is on, and how many recovery codes are left.
    pub async fn mfa_state(&self, who: &Authenticated) -> Result<sealpost_proto::MfaState> {
        let id = who.signer.person_id.clone();
        self.store
            .read(move |tx| {
                let enabled = tx.mfa(&id)?.is_some_and(|m| m.enabled_at.is_some());
                Ok(sealpost_proto::MfaState {
                    enabled,
                    recovery_codes_left: if enabled {
                        tx.recovery_codes_left(&id)?
                    } else {
                        0
                    },
                })
            })
            .await
    }

    /// Starts turning on two-step sign-in: a new secret for the authenticator app, which
    /// [`Hub::confirm_mfa`] turns on with a first code. Starting again replaces a secret
    /// not yet confirmed. The account's password is asked again, so that a stolen session
    /// cannot enrol someone else's phone and lock the owner out.
    ///
    /// # Errors
    /// `Conflict` when it is on already (turn it off first, with a code); a wrong password
    /// as at sign-in (counted toward the lock).
    pub async fn begin_mfa(
        &self,
        who: &Authenticated,
        password: &str,
        caller: &Caller,
    ) -> Result<MfaSetup> {
        self.reauthenticate(who, password, caller).await?;
        if self.mfa_enabled(&who.signer.person_id).await? {
            return Err(Error::Conflict(
                "two-step sign-in is on already; to move it to another phone, turn it off \
                 with a code and turn it on again"
                    .into(),
            ));
        }
        let mut secret = vec![0u8; SECRET_BYTES];
        self.entropy.fill(&mut secret);
        let keys = self.mailbox_key(&who.signer.person_id).await?;
        let sealed = keys.data.seal(
            Place {
                mailbox: &who.signer.person_id,
                row: &who.signer.person_id,
                field: Field::MfaSecret,
            },
            &secret,
        );
        let (id, now) = (who.signer.person_id.clone(), self.now());
        let email = self
            .store
            .write(move |tx| {
                let account = tx.account_by_id(&id)?.ok_or(Error::Unauthenticated)?;
                if !tx.begin_mfa(&id, &sealed, now)? {
                    return Err(Error::Conflict("two-step sign-in is on already".into()));
                }
                Ok(account.email)
            })
            .await?;
        let totp = totp(secret, &self.issuer(), &email)?;
        Ok(MfaSetup {
            secret: totp.get_secret_base32(),
            otpauth_uri: totp.get_url(),
        })
    }

    /// Turns two-step sign-in on with the first code the app shows, and signs out every
    /// other session of the account (they signed in with the password alone). Returns the
    /// recovery codes, shown once (only their keyed digests are kept).
    ///
    /// # Errors
    /// `MfaCodeWrong` for a wrong code; `Conflict` when no enrolment was started, when it
    /// is on already, or when it was set up again meanwhile.
    pub async fn confirm_mfa(
        &self,
        who: &Authenticated,
        code: &str,
        caller: &Caller,
    ) -> Result<Vec<String>> {
        let Some((email, secret, enabled, sealed)) =
            self.mfa_secret_sealed(&who.signer.person_id).await?
        else {
            return Err(Error::Conflict(
                "no authenticator is being set up; start again from the beginning".into(),
            ));
        };
        if enabled {
            return Err(Error::Conflict("two-step sign-in is on already".into()));
        }
        let now = self.now();
        let totp = totp(secret.clone(), &self.issuer(), &email)?;
        let step = looks_like_code(code)
            .and_then(|c| matching_step(&totp, &c, now))
            // Not counted: the password was just checked, and nothing is on yet.
            .ok_or(Error::MfaCodeWrong(None))?;
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| self.recovery_code()).collect();
        let digests: Vec<String> = codes.iter().map(|c| recovery_digest(&secret, c)).collect();
        let (id, ip, family) = (
            who.signer.person_id.clone(),
            caller.ip.clone(),
            who.family_id.clone(),
        );
        self.store
            .write(move |tx| {
                if !tx.enable_mfa(&id, &sealed, step, &digests, now)? {
                    return Err(Error::Conflict(
                        "two-step sign-in was turned on or set up again meanwhile; look at \
                         its state and start again if it is off"
                            .into(),
                    ));
                }
                // Whoever signed in with the password alone before now needs the code too.
                let others = tx.revoke_other_sessions(&id, &family, now)?;
                tx.audit(
                    now,
                    "mfa_enabled",
                    &email,
                    &ip,
                    &format!("{others} other sessions signed out"),
                )
            })
            .await?;
        Ok(codes)
    }

    /// Turns two-step sign-in off, proved by the password and a current code or a recovery
    /// code; the owner is emailed.
    ///
    /// # Errors
    /// `NotFound` when it is not on; `Conflict` when the organisation requires it (the
    /// admin's `reset-mfa` is the way then); a wrong password or code as at sign-in
    /// (counted toward the lock; `MfaCodeWrong` for the code).
    pub async fn disable_mfa(
        &self,
        who: &Authenticated,
        password: &str,
        code: &str,
        caller: &Caller,
    ) -> Result<()> {
        if !self.mfa_enabled(&who.signer.person_id).await? {
            return Err(Error::NotFound("two-step sign-in"));
        }
        if self.config.security.require_mfa {
            return Err(Error::Conflict(
                "your organisation requires two-step sign-in, so it cannot be turned off; \
                 for a new phone, ask the organisation to reset it"
                    .into(),
            ));
        }
        self.reauthenticate(who, password, caller).await?;
        if self
            .second_step(&who.signer.person_id, code)
            .await?
            .is_none()
        {
            let id = who.signer.person_id.clone();
            let account = self
                .store
                .read(move |tx| tx.account_by_id(&id))
                .await?
                .ok_or(Error::Unauthenticated)?;
            let wrong = crate::accounts::Wrong::Code;
            return Err(match self.count_failure(account, wrong, caller).await {
                Error::InvalidCredentials(left) => Error::MfaCodeWrong(left),
                other => other,
            });
        }
        let (id, ip, now) = (who.signer.person_id.clone(), caller.ip.clone(), self.now());
        let email = self
            .store
            .write(move |tx| {
                let account = tx.account_by_id(&id)?.ok_or(Error::Unauthenticated)?;
                tx.remove_mfa(&id)?;
                tx.audit(now, "mfa_disabled", &account.email, &ip, "")?;
                Ok(account.email)
            })
            .await?;
        let mail = crate::mail::templates::mfa_turned_off(&self.config.org_name);
        self.queue_email(&email, "mfa_disabled", mail).await
    }

    /// Checks a second step for the account: an authenticator code not used before, or an
    /// unused recovery code (used up by this). `None` when it is neither.
    pub(crate) async fn second_step(&self, account_id: &str, given: &str) -> Result<Option<Proof>> {
        if given.chars().count() > MAX_CODE_CHARS {
            // Neither a code nor a recovery code: wrong, without more work.
            return Ok(None);
        }
        let Some((email, secret, true)) = self.mfa_secret(account_id).await? else {
            return Ok(None);
        };
        let now = self.now();
        let id = account_id.to_owned();
        if let Some(code) = looks_like_code(given) {
            let Some(step) =
                matching_step(&totp(secret.clone(), &self.issuer(), &email)?, &code, now)
            else {
                return Ok(None);
            };
            let fresh = self
                .store
                .write(move |tx| tx.take_mfa_step(&id, step))
                .await?;
            return Ok(fresh.then_some(Proof::Code));
        }
        let digest = recovery_digest(&secret, given);
        self.store
            .write(move |tx| {
                if !tx.take_recovery_code(&id, &digest, now)? {
                    return Ok(None);
                }
                Ok(Some(Proof::Recovery(tx.recovery_codes_left(&id)?)))
            })
            .await
    }

    /// A new recovery code: ten letters from [`RECOVERY_ALPHABET`] (about 50 bits), shown
    /// as `abcde-fghjk`.
    fn recovery_code(&self) -> String {
        let mut bytes = [0u8; 10];
        self.entropy.fill(&mut bytes);
        let letters: Vec<char> = bytes
            .iter()
            // 256 = 8 × 31 + 8: the first eight letters come up 9 times in 256, the others
            // 8 (well under a bit lost over ten letters).
            .map(|b| RECOVERY_ALPHABET[*b as usize % RECOVERY_ALPHABET.len()] as char)
            .collect();
        let (a, b) = letters.split_at(5);
        format!(
            "{}-{}",
            a.iter().collect::<String>(),
            b.iter().collect::<String>()
        )
    }

    /// The admin's reset: removes the authenticator and recovery codes, signs the user out
    /// everywhere (Remember me too), audits it and emails the user.
    ///
    /// # Errors
    /// `UnknownUser` for an unknown address; `Conflict` when two-step sign-in is not on.
    pub async fn reset_mfa(&self, email: &str, caller: &Caller) -> Result<()> {
        let email = sealpost_proto::address::normalise(email)
            .map_err(|_| Error::UnknownUser(email.to_owned()))?;
        let (ip, now) = (caller.ip.clone(), self.now());
        let to = email.clone();
        self.store
            .write(move |tx| {
                let account = tx
                    .account_by_email(&email)?
                    .ok_or_else(|| Error::UnknownUser(email.clone()))?;
                if !tx.remove_mfa(&account.id)? {
                    return Err(Error::Conflict(format!(
                        "{email} has no two-step sign-in to reset; nothing was changed"
                    )));
                }
                tx.revoke_account_sessions(&account.id, now)?;
                tx.audit(now, "mfa_reset", &email, &ip, "")
            })
            .await?;
        let mail = crate::mail::templates::mfa_reset(&self.config.org_name);
        self.queue_email(&to, "mfa_reset", mail).await
    }
}

/// The step within one of `now` whose code is `code`, if any (RFC 6238 §6: one step of
/// drift either way).
fn matching_step(totp: &TOTP, code: &str, now: DateTime<Utc>) -> Option<i64> {
    let step = step_of(now);
    [step, step - 1, step + 1].into_iter().find(|s| {
        let at = (s * STEP_SECONDS).max(0) as u64;
        totp.check(code, at)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the SHA-1 secret and its 8-digit codes at the table's times.
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890".to_vec();
        let totp = TOTP::new(Algorithm::SHA1, 8, 0, 30, secret, None, "test".into()).unwrap();
        for (time, code) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(totp.generate(time), code, "T = {time}");
        }
    }

    #[test]
    fn a_code_matches_its_step_and_one_either_side_only() {
        let totp = totp(b"12345678901234567890".to_vec(), "Org", "a@b.example").unwrap();
        let now = DateTime::from_timestamp(1_234_567_890, 0).unwrap();
        let code = |t: i64| totp.generate(t as u64);
        let step = step_of(now);
        assert_eq!(
            matching_step(&totp, &code(now.timestamp()), now),
            Some(step)
        );
        assert_eq!(
            matching_step(&totp, &code(now.timestamp() - 30), now),
            Some(step - 1)
        );
        assert_eq!(
            matching_step(&totp, &code(now.timestamp() + 30), now),
            Some(step + 1)
        );
        assert_eq!(matching_step(&totp, &code(now.timestamp() - 60), now), None);
        assert_eq!(matching_step(&totp, &code(now.timestamp() + 90), now), None);
    }

    #[test]
    fn recovery_codes_read_alike_however_typed() {
        let key = b"12345678901234567890";
        assert_eq!(
            recovery_digest(key, "abcde-fghjk"),
            recovery_digest(key, " ABCDE FGHJK ")
        );
        assert_ne!(
            recovery_digest(key, "abcde-fghjk"),
            recovery_digest(key, "abcde-fghjm")
        );
        assert_ne!(
            recovery_digest(key, "abcde-fghjk"),
            recovery_digest(b"another secret of twenty", "abcde-fghjk"),
            "keyed: the same code differs from account to account"
        );
        assert_eq!(looks_like_code("123 456").as_deref(), Some("123456"));
        assert_eq!(looks_like_code("12345a"), None);
        assert_eq!(
            looks_like_code("１２３ ４５６").as_deref(),
            Some("123456"),
            "full-width digits"
        );
        assert_eq!(
            recovery_digest(key, "abcde-fghjk"),
            recovery_digest(key, "ＡＢＣＤＥ－ＦＧＨＪＫ"),
            "full-width letters"
        );
        assert_eq!(looks_like_code("abcde-fghjk"), None);
    }
}
