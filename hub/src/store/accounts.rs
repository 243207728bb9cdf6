use super::sql::{params, OptionalExtension, Row};
use chrono::{DateTime, Utc};

use super::Tx;
use crate::clock::{from_millis, to_millis};
use crate::error::Result;

/// Where an account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    /// Mail has arrived; the person has not registered yet.
    Pending,
    /// Registered and allowed to sign in.
    Active,
    /// Switched off by an admin.
    Disabled,
}

impl AccountStatus {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Disabled => "disabled",
        }
    }
    fn parse(s: &str) -> Self {
        match s {
            "active" => Self::Active,
            "disabled" => Self::Disabled,
            _ => Self::Pending,
        }
    }
}

/// An external user's account and mailbox.
#[derive(Debug, Clone)]
pub struct Account {
    /// Opaque id.
    pub id: String,
    /// Lower-cased address.
    pub email: String,
    /// Where the account stands.
    pub status: AccountStatus,
    /// Argon2id PHC string; empty until registered.
    pub password_hash: String,
    /// The mailbox's age recipient.
    pub mailbox_public: String,
    /// The mailbox's identity, wrapped by the master key.
    pub mailbox_key: Vec<u8>,
    /// The mailbox's data key, wrapped by the master key (empty before storage v2).
    pub data_key: Vec<u8>,
    /// When the account was created (first message).
    pub created_at: DateTime<Utc>,
    /// When the person registered, if they have.
    pub registered_at: Option<DateTime<Utc>>,
    /// Last successful sign-in.
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// How the password was hashed.
    pub password_form: PasswordForm,
    /// Until then (after a reset or an admin's unlock), failed sign-ins of devices not yet
    /// trusted lock only the address and client IP they came from.
    pub owner_window_until: Option<DateTime<Utc>>,
    /// A shared mailbox with no password of its own: only its delegates sign in to it.
    pub shared_only: bool,
}

/// A mailbox's keys as stored: wrapped by the master key.
#[derive(Debug, Clone)]
pub struct WrappedKeys {
    /// The `age1…` recipient its files are sealed to.
    pub public: String,
    /// Its file identity, wrapped.
    pub mailbox_key: Vec<u8>,
    /// Its data key, wrapped.
    pub data_key: Vec<u8>,
}

/// What a stored password hash was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordForm {
    /// The password as typed (hashes made before passwords were normalised).
    Raw,
    /// The NFKC-normalised password (NIST SP 800-63B rev. 4).
    Nfkc,
}

/// Failed sign-ins and the lock for one address.
#[derive(Debug, Clone, Default)]
pub struct GuardState {
    /// Consecutive failures since the last success or lock.
    pub failures: u32,
    /// Locked until then, if in the future.
    pub locked_until: Option<DateTime<Utc>>,
}

/// What a one-time link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Choosing the first password.
    Register,
    /// Choosing a new password.
    Reset,
}

impl LinkPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Reset => "reset",
        }
    }
}

const ACCOUNT_COLUMNS: &str = "id, email, status, password_hash, mailbox_public, mailbox_key, \
     created_at, registered_at, last_sign_in_at, password_form, owner_window_until, data_key, shared_only";

fn optional_time(ms: i64) -> Option<DateTime<Utc>> {
    (ms != 0).then(|| from_millis(ms))
}

fn account_from_row(r: &Row) -> Result<Account> {
    Ok(Account {
        id: r.get(0)?,
        email: r.get(1)?,
        status: AccountStatus::parse(&r.get::<_, String>(2)?),
        password_hash: r.get(3)?,
        mailbox_public: r.get(4)?,
        mailbox_key: r.get(5)?,
        created_at: from_millis(r.get(6)?),
        registered_at: optional_time(r.get(7)?),
        last_sign_in_at: optional_time(r.get(8)?),
        password_form: match r.get::<_, String>(9)?.as_str() {
            "nfkc" => PasswordForm::Nfkc,
            _ => PasswordForm::Raw,
        },
        owner_window_until: optional_time(r.get(10)?),
        data_key: r.get(11)?,
        shared_only: r.get::<_, i64>(12)? != 0,
    })
}

impl Tx<'_> {
    /// The account with this (lower-cased) address.
    pub fn account_by_email(&self, email: &str) -> Result<Option<Account>> {
        self.0
            .query_row(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = ?1"),
                [email],
                account_from_row,
            )
            .optional()
    }

    /// The account with this id.
    pub fn account_by_id(&self, id: &str) -> Result<Option<Account>> {
        self.0
            .query_row(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1"),
                [id],
                account_from_row,
            )
            .optional()
    }

    /// Every account, by address.
    pub fn accounts(&self) -> Result<Vec<Account>> {
        let mut stmt = self.0.prepare(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY email"
        ))?;
        let rows = stmt.query_map([], account_from_row)?;
        rows.collect::<Result<_>>()
    }

    /// Marks an empty pending mailbox as just made, so that the sweep of leftovers
    /// ([`Tx::empty_pending_mailboxes`]) leaves it to the send about to fill it.
    pub fn renew_empty_pending(&self, id: &str, now: DateTime<Utc>) -> Result<()> {
        self.0.execute(
            "UPDATE accounts SET created_at = ?2 WHERE id = ?1 AND status = 'pending' \
             AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.account_id = ?1)",
            params![id, to_millis(now)],
        )?;
        Ok(())
    }

    /// Adds a pending account with its wrapped keys.
    pub fn insert_pending_account(
        &self,
        id: &str,
        email: &str,
        keys: &WrappedKeys,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO accounts (id, email, status, mailbox_public, mailbox_key, data_key, \
             created_at) VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?6)",
            params![
                id,
                email,
                keys.public,
                keys.mailbox_key,
                keys.data_key,
                to_millis(now)
            ],
        )?;
        Ok(())
    }

    /// Every account's wrapped keys, by id (for the master-key rotation).
    pub fn wrapped_keys(&self) -> Result<Vec<(String, WrappedKeys)>> {
        let mut stmt = self.0.prepare(
            "SELECT id, mailbox_public, mailbox_key, data_key FROM accounts ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                WrappedKeys {
                    public: r.get(1)?,
                    mailbox_key: r.get(2)?,
                    data_key: r.get(3)?,
                },
            ))
        })?;
        rows.collect::<Result<_>>()
    }

    /// Replaces an account's wrapped keys (same keys, wrapped anew).
    pub fn set_wrapped_keys(&self, id: &str, keys: &WrappedKeys) -> Result<()> {
        self.0.execute(
            "UPDATE accounts SET mailbox_key = ?2, data_key = ?3 WHERE id = ?1",
            params![id, keys.mailbox_key, keys.data_key],
        )?;
        Ok(())
    }

    /// The ids of accounts that have no data key yet (made before storage v2).
    pub fn accounts_without_data_key(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .0
            .prepare("SELECT id FROM accounts WHERE data_key = x'' ORDER BY id")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_>>()
    }

    /// Gives an account its first data key; false if it had one meanwhile.
    pub fn set_first_data_key(&self, id: &str, wrapped: &[u8]) -> Result<bool> {
        Ok(self.0.execute(
            "UPDATE accounts SET data_key = ?2 WHERE id = ?1 AND data_key = x''",
            params![id, wrapped],
        )? == 1)
    }

    /// Sets the password (a hash of the normalised password) and makes the account active.
    pub fn complete_registration(&self, id: &str, hash: &str, now: DateTime<Utc>) -> Result<()> {
        self.0.execute(
            "UPDATE accounts SET status = 'active', password_hash = ?2, registered_at = ?3, \
             password_form = 'nfkc' WHERE id = ?1",
            params![id, hash, to_millis(now)],
        )?;
        Ok(())
    }

    /// Replaces the password hash with one of the normalised password.
    pub fn set_password_hash(&self, id: &str, hash: &str) -> Result<()> {
        self.0.execute(
            "UPDATE accounts SET password_hash = ?2, password_form = 'nfkc' WHERE id = ?1",
            params![id, hash],
        )?;
        Ok(())
    }

    /// Stores a hash made from the password as typed, as hubs did before passwords were
    /// normalised (tests of the upgrade).
    #[cfg(feature = "testing")]
    pub fn set_legacy_password_hash(&self, email: &str, hash: &str) -> Result<()> {
        self.0.execute(
            "UPDATE accounts SET password_hash = ?2, password_form = 'raw' WHERE email = ?1",
            params![email, hash],
        )?;
        Ok(())
    }

    /// Replaces a hash made from the password as typed with one of the normalised password,
    /// if the stored hash is still `checked` (the one the password was verified against).
    pub fn replace_legacy_password_hash(&self, id: &str, checked: &str, hash: &str) -> Result<()> {
        self.0.execute(
            "UPDATE accounts SET password_hash = ?3, password_form = 'nfkc' \
             WHERE id = ?1 AND password_hash = ?2 AND password_form = 'raw'",
            params![id, checked, hash],
        )?;
        Ok(())
    }

    /// Opens the owner's window until `until` (see [`Account::owner_window_until`]).
    pub fn set_owner_window(&self, id: &str, until: DateTime<Utc>) -> Result<()> {
        self.0.execute(
            "UPDATE accounts SET owner_window_until = ?2 WHERE id = ?1",
            params![id, to_millis(until)],
        )?;
        Ok(())
    }

    /// Changes the status.
    pub fn set_account_status(&self, id: &str, status: AccountStatus) -> Result<()> {
        self.0.execute(
            "UPDATE accounts SET status = ?2 WHERE id = ?1",
            params![id, status.as_str()],
        )?;
        Ok(())
    }

    /// Records a successful sign-in.
    pub fn touch_sign_in(&self, id: &str, now: DateTime<Utc>) -> Result<()> {
        self.0.execute(
            "UPDATE accounts SET last_sign_in_at = ?2 WHERE id = ?1",
            params![id, to_millis(now)],
        )?;
        Ok(())
    }

    /// Deletes an account; its sessions, links and messages go with it. Returns the
    /// attachment files (relative paths) the caller must remove.
    pub fn delete_account(&self, id: &str) -> Result<Vec<String>> {
        let mut stmt = self.0.prepare(
            "SELECT a.blob FROM attachments a JOIN messages m ON m.id = a.message_id \
             WHERE m.account_id = ?1",
        )?;
        let blobs = stmt
            .query_map([id], |r| r.get(0))?
            .collect::<Result<Vec<String>>>()?;
        self.0.execute("DELETE FROM accounts WHERE id = ?1", [id])?;
        Ok(blobs)
    }

    /// The sign-in guard of an address, known or not.
    pub fn guard(&self, email: &str) -> Result<GuardState> {
        Ok(self
            .0
            .query_row(
                "SELECT failures, locked_until FROM sign_in_guard WHERE email = ?1",
                [email],
                |r| {
                    Ok(GuardState {
                        failures: r.get(0)?,
                        locked_until: optional_time(r.get(1)?),
                    })
                },
            )
            .optional()?
            .unwrap_or_default())
    }

    /// Stores the sign-in guard of an address.
    pub fn set_guard(&self, email: &str, state: &GuardState, now: DateTime<Utc>) -> Result<()> {
        self.0.execute(
            "INSERT INTO sign_in_guard (email, failures, locked_until, updated_at) \
             VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT(email) DO UPDATE SET failures = ?2, locked_until = ?3, updated_at = ?4",
            params![
                email,
                state.failures,
                state.locked_until.map(to_millis).unwrap_or(0),
                to_millis(now)
            ],
        )?;
        Ok(())
    }

    /// Forgets failures and any lock of an address (or of a guard key, see
    /// [`guard_key`]).
    pub fn clear_guard(&self, email: &str) -> Result<()> {
        self.0
            .execute("DELETE FROM sign_in_guard WHERE email = ?1", [email])?;
        Ok(())
    }

    /// Forgets failures and every lock of an address, those of single client IPs included.
    pub fn clear_guards_of(&self, email: &str) -> Result<()> {
        self.0.execute(
            "DELETE FROM sign_in_guard WHERE email = ?1 \
             OR substr(email, 1, length(?1) + 1) = ?1 || '|'",
            [email],
        )?;
        Ok(())
    }

    /// Drops guard rows with no lock in force that were last touched before `cutoff`:
    /// attempts on made-up addresses must not grow the table forever.
    pub fn prune_guards(&self, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> Result<usize> {
        self.0.execute(
            "DELETE FROM sign_in_guard WHERE updated_at < ?1 AND locked_until < ?2",
            params![to_millis(cutoff), to_millis(now)],
        )
    }

    /// Stores a one-time link (by its hash).
    pub fn insert_link(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        account_id: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        self.0.execute(
            "INSERT INTO one_time_links (token_hash, purpose, account_id, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                token_hash,
                purpose.as_str(),
                account_id,
                to_millis(now),
                to_millis(expires_at)
            ],
        )?;
        Ok(())
    }

    /// The account a live one-time link belongs to.
    pub fn link_account(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<Account>> {
        let id: Option<String> = self
            .0
            .query_row(
                "SELECT account_id FROM one_time_links \
                 WHERE token_hash = ?1 AND purpose = ?2 AND expires_at > ?3",
                params![token_hash, purpose.as_str(), to_millis(now)],
                |r| r.get(0),
            )
            .optional()?;
        match id {
            Some(id) => self.account_by_id(&id),
            None => Ok(None),
        }
    }

    /// Removes every link of that purpose for an account (used).
    pub fn delete_links(&self, account_id: &str, purpose: LinkPurpose) -> Result<()> {
        self.0.execute(
            "DELETE FROM one_time_links WHERE account_id = ?1 AND purpose = ?2",
            params![account_id, purpose.as_str()],
        )?;
        Ok(())
    }

    /// Removes expired links.
    pub fn prune_links(&self, now: DateTime<Utc>) -> Result<usize> {
        self.0.execute(
            "DELETE FROM one_time_links WHERE expires_at <= ?1",
            [to_millis(now)],
        )
    }
}

/// The guard row that counts failed sign-ins of `email` from `ip`: the address itself, or,
/// in the owner's window, the address and the IP together.
pub fn guard_key(email: &str, ip: &str, per_ip: bool) -> String {
    if per_ip {
        format!("{email}|{ip}")
    } else {
        email.to_owned()
    }
}

/// Brings addresses stored before the one address rule (`sealpost_proto::address`) to its
/// form: an internationalised domain or a trailing dot was kept as typed, so the account
/// could no longer be found by its address. Only such rows are read (non-ASCII, or a
/// trailing dot); an address whose new form another account already has is left as it is
/// and said in the log, for the admin to resolve.
pub(super) fn renormalise_addresses(conn: &mut rusqlite::Connection) -> Result<()> {
    let tx = conn.transaction()?;
    let odd: Vec<(String, String)> = {
        let mut stmt = tx.prepare(
            "SELECT id, email FROM accounts WHERE email GLOB '*[^ -~]*' OR email GLOB '*.'",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (id, email) in odd {
        let Ok(stored) = sealpost_proto::address::normalise(&email) else {
            continue;
        };
        if stored == email {
            continue;
        }
        let taken: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM accounts WHERE email = ?1)",
            [&stored],
            |r| r.get(0),
        )?;
        if taken {
            tracing::warn!(account = %id, "two accounts are one address under the address rule; left as they are");
            continue;
        }
        tx.execute(
            "UPDATE accounts SET email = ?2 WHERE id = ?1",
            rusqlite::params![id, stored],
        )?;
    }
    tx.commit()?;
    Ok(())
}
