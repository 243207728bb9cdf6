//! What can go wrong in the hub, in the domain's words. `api::error` maps these to HTTP;
//! the CLI prints their `Display`, which never contains secrets or content.

use chrono::{DateTime, Utc};

use crate::crypto::CryptoError;

/// A refusal or a fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thing asked for does not exist, or belongs to someone else.
    #[error("{0} was not found")]
    NotFound(&'static str),
    /// No account has this address (admin commands).
    #[error("there is no user with the address {0}")]
    UnknownUser(String),
    /// A registration or reset token is unknown, used or expired.
    #[error("this link is not valid: it was already used, has expired or was mistyped")]
    InvalidToken,
    /// The password breaks these rules (ids and the rules in words).
    #[error("the password does not meet the rules")]
    WeakPassword(Vec<sealpost_proto::PasswordRule>),
    /// The address has completed registration already.
    #[error(
        "this address is already registered; sign in, or reset the password if it is forgotten"
    )]
    AlreadyRegistered,
    /// Wrong address or password (the two are never told apart), with the failures left
    /// before the lock when they are counted (for known and unknown addresses alike).
    #[error("the email address or password is not right")]
    InvalidCredentials(Option<TriesLeft>),
    /// The password was right and the account has two-step sign-in: the code is asked for.
    #[error("two-step sign-in: the code from the authenticator app is needed")]
    MfaRequired,
    /// The password was right, the authenticator code (or recovery code) was not, with the
    /// failures left before the lock.
    #[error("the two-step sign-in code is not right")]
    MfaCodeWrong(Option<TriesLeft>),
    /// The organisation requires two-step sign-in, and the account has not turned it on.
    #[error("two-step sign-in must be turned on first")]
    MfaEnrolmentRequired,
    /// Too many failed sign-ins; sign-in opens again at the given time.
    #[error("this account is locked after too many failed sign-ins")]
    AccountLocked(DateTime<Utc>),
    /// A named delegate's access to the shared mailbox was taken away, or never given.
    #[error("you no longer have access to this shared mailbox")]
    AccessRemoved,
    /// Only the mailbox's owner or a manager may do this.
    #[error("{0}")]
    NotPermitted(String),
    /// An admin disabled the account.
    #[error("this account has been disabled by the hub's administrator")]
    AccountDisabled,
    /// No or unknown bearer token.
    #[error("not signed in")]
    Unauthenticated,
    /// The session ended (idle or too old).
    #[error("the session has ended")]
    SessionExpired,
    /// An invitation went to this address a moment ago; another may go after this many
    /// seconds.
    #[error(
        "an invitation went to this address less than 10 minutes ago; try again in {0} seconds"
    )]
    InvitedRecently(u64),
    /// Too many requests; try again after this many seconds.
    #[error("too many requests")]
    RateLimited(u64),
    /// The sender is not an organisation address.
    #[error("the sender {0} is not an address of the organisation")]
    SenderNotAllowed(String),
    /// An address of the organisation offered as a shared mailbox's delegate: staff use
    /// their own mail.
    #[error("{0} is an address of the organisation; staff use their own mail, so they cannot be a shared mailbox's delegate")]
    OrgAddressNotDelegate(String),
    /// Recipients refused by policy.
    #[error("these recipients are not allowed: {}", .0.join(", "))]
    RecipientNotAllowed(Vec<String>),
    /// Too many or too large attachments.
    #[error(
        "a message may carry at most {max_files} attachments and {} in total",
        sealpost_proto::text::megabytes(*max_total_bytes)
    )]
    AttachmentLimit {
        /// Most files.
        max_files: u32,
        /// Most bytes.
        max_total_bytes: u64,
    },
    /// The request itself is malformed; the text says how.
    #[error("{0}")]
    BadRequest(String),
    /// The request conflicts with the current state; the text says how.
    #[error("{0}")]
    Conflict(String),
    /// A sync state older than the history the hub keeps: start over without `since`.
    #[error("this sync state is too old; sync again from the start")]
    StateTooOld,
    /// A fault in the store.
    #[error("database error: {0}")]
    Store(crate::store::StoreError),
    /// A fault in encryption.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// A fault reading or writing files.
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
    /// Anything else that is a fault, not a refusal.
    #[error("{0}")]
    Other(String),
}

impl From<crate::store::StoreError> for Error {
    /// A value PostgreSQL cannot hold in text (a NUL character: SQLSTATE 22021, or 22P05)
    /// came from the request, and is refused as such; SQLite would have stored it or found
    /// no row, so either way nothing was written. Every other fault stays a fault.
    fn from(e: crate::store::StoreError) -> Self {
        if let crate::store::StoreError::Postgres(pg) = &e {
            if let Some(code) = pg.code() {
                if code.code() == "22021" || code.code() == "22P05" {
                    return Error::BadRequest(
                        "the request holds a character the hub does not accept (a NUL); \
                         remove it and try again"
                            .into(),
                    );
                }
            }
        }
        Error::Store(e)
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Store(e.into())
    }
}

/// The hub's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How many more failed sign-ins lock sign-in, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TriesLeft {
    /// Failures still allowed before the lock (at least 1).
    pub tries: u32,
    /// How long the lock lasts, in minutes.
    pub lock_minutes: i64,
}
