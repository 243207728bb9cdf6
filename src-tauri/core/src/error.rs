//! Errors of the client core. The app shows `message()` and switches on `code()`; it never
//! matches on strings.

use serde::Serialize;

/// What kind of problem, for the UI to choose what to show.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// The hub cannot be reached; work goes on from the vault.
    Offline,
    /// Wrong address or password.
    InvalidCredentials,
    /// Too many failed sign-ins.
    AccountLocked,
    /// The password was right; the account has two-step sign-in: ask for the code.
    MfaRequired,
    /// The two-step code (or recovery code) is wrong or was used.
    MfaCodeWrong,
    /// The organisation requires two-step sign-in and it is not on yet: turn it on.
    MfaEnrolmentRequired,
    /// Disabled by the hub's admin.
    AccountDisabled,
    /// A named delegate's access to a shared mailbox was taken away: its copy here goes.
    AccessRemoved,
    /// Signed out, idle too long, or Remember me revoked: sign in again.
    SignInRequired,
    /// A password that breaks the rules.
    WeakPassword,
    /// A registration or reset link that is used, expired or mistyped.
    InvalidLink,
    /// The address is registered already.
    AlreadyRegistered,
    /// A recipient outside the organisation.
    RecipientNotAllowed,
    /// Too many or too large attachments.
    AttachmentLimit,
    /// Slow down and try later.
    RateLimited,
    /// Not there (or not yours).
    NotFound,
    /// The OS keyring is missing, locked or failing.
    Keyring,
    /// The vault cannot be opened (missing key, wrong key, damaged file).
    Vault,
    /// The input is not acceptable; the message says why.
    Invalid,
    /// Something failed that should not have; the message says what to do.
    Internal,
}

/// A failure of the client core. Its `Display` is a plain-language sentence for a person;
/// the cause (I/O, SQLite, TLS, HTTP) stays attached as the error's `source()`, so a caller
/// can tell a full disk from a refused certificate without reading the words.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The hub refused; `code` and `message` come from its answer.
    #[error("{message}")]
    Hub {
        /// The refusal's kind.
        code: Code,
        /// The HTTP status of the answer.
        status: u16,
        /// The hub's sentence.
        message: String,
        /// The hub's whole error, with fields like `refused` or `locked_until`.
        detail: Box<sealpost_proto::ApiError>,
    },
    /// The hub cannot be reached (no network, no answer in time, a proxy with nothing
    /// behind it).
    #[error(
        "the hub at {hub} cannot be reached; check the network connection (work continues offline)"
    )]
    Offline {
        /// The hub's address, or what answered instead of it.
        hub: String,
        /// The connection's failure, when there was one.
        #[source]
        cause: Option<reqwest::Error>,
    },
    /// The hub was reached but the connection could not be made safe: its certificate was
    /// refused, or it does not speak TLS (a wrong address, or a network's sign-in page in
    /// between). Work goes on as offline: nothing is sent until it is safe.
    #[error(
        "the connection to the hub at {hub} is not secure (its certificate was not accepted, \
         or it does not speak TLS), so nothing was sent and work continues offline. Check the \
         hub's address; if it is right, tell the hub's administrator"
    )]
    Tls {
        /// The hub's address.
        hub: String,
        /// The TLS library's reason, in its words (for logs, not for people).
        reason: String,
        /// The connection's failure.
        #[source]
        source: reqwest::Error,
    },
    /// The hub answered, but not with what the API promises (a cut-off or foreign body).
    #[error("{message}")]
    Answer {
        /// What was wrong, for a person.
        message: String,
        /// The HTTP status, when the answer had one.
        status: Option<u16>,
        /// Reading or decoding the answer, when that failed.
        #[source]
        source: Option<reqwest::Error>,
    },
    /// The keyring failed.
    #[error(transparent)]
    Keyring(#[from] crate::keyring::KeyringError),
    /// The vault failed.
    #[error("{message}")]
    Vault {
        /// What failed, for a person.
        message: String,
        /// SQLite's error, when SQLite failed.
        #[source]
        source: Option<rusqlite::Error>,
    },
    /// The thing asked for is not in the vault.
    #[error("{0} was not found")]
    NotFound(&'static str),
    /// Input refused before reaching the hub (policy checks, bad addresses).
    #[error("{message}")]
    Refused {
        /// The refusal's kind.
        code: Code,
        /// What to do.
        message: String,
        /// Addresses refused, when that is the reason.
        refused: Vec<String>,
    },
    /// Signing in again is needed.
    #[error("sign in again to continue")]
    SignInRequired,
    /// A local file could not be read or written.
    #[error("{message}")]
    Io {
        /// What failed, for a person.
        message: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Data kept on this computer (the account list, a queued item) cannot be read back.
    #[error("{message}")]
    Damaged {
        /// What is damaged, for a person.
        message: String,
        /// The decoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// Anything else (a background task that stopped, a password hash that failed).
    #[error("{0}")]
    Other(String),
}

impl ClientError {
    /// The kind, for the UI.
    pub fn code(&self) -> Code {
        match self {
            Self::Hub { code, .. } | Self::Refused { code, .. } => *code,
            // Waiting is all a person can do about either; the message says which it is.
            Self::Offline { .. } | Self::Tls { .. } => Code::Offline,
            Self::Keyring(_) => Code::Keyring,
            Self::Vault { .. } => Code::Vault,
            Self::NotFound(_) => Code::NotFound,
            Self::SignInRequired => Code::SignInRequired,
            Self::Answer { .. } | Self::Io { .. } | Self::Damaged { .. } | Self::Other(_) => {
                Code::Internal
            }
        }
    }

    /// The hub cannot be reached at `hub`, with no lower-level cause to keep.
    pub fn offline(hub: impl Into<String>) -> Self {
        Self::Offline {
            hub: hub.into(),
            cause: None,
        }
    }

    /// A vault failure that has no SQLite error behind it (a missing key, a newer file).
    pub fn vault(message: impl Into<String>) -> Self {
        Self::Vault {
            message: message.into(),
            source: None,
        }
    }

    /// Whether the disk (or the quota) is full: the vault or a file could not be written.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Self::Io { source, .. } => source.kind() == std::io::ErrorKind::StorageFull,
            Self::Vault {
                source: Some(rusqlite::Error::SqliteFailure(f, _)),
                ..
            } => f.code == rusqlite::ErrorCode::DiskFull,
            _ => false,
        }
    }
}

impl From<rusqlite::Error> for ClientError {
    fn from(e: rusqlite::Error) -> Self {
        let full = matches!(&e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::DiskFull);
        Self::Vault {
            message: if full {
                "the disk is full: the vault could not be written. Free some space; nothing already saved was lost"
                    .into()
            } else {
                format!("the vault could not be read or written: {e}")
            },
            source: Some(e),
        }
    }
}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> Self {
        Self::Io {
            message: if e.kind() == std::io::ErrorKind::StorageFull {
                "the disk is full: a file could not be written. Free some space and try again"
                    .into()
            } else {
                format!("a file could not be read or written: {e}")
            },
            source: e,
        }
    }
}

impl From<tokio::task::JoinError> for ClientError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::Other(format!("a background task stopped before it finished: {e}"))
    }
}

/// The client core's result type.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_told_apart_from_other_failures() {
        let full = std::fs::write("/dev/full", b"x").expect_err("/dev/full takes nothing");
        let err = ClientError::from(full);
        assert!(err.is_disk_full(), "{err:?}");
        assert!(err.to_string().contains("disk is full"), "{err}");
        let source = std::error::Error::source(&err).expect("the OS error is kept");
        assert!(source.downcast_ref::<std::io::Error>().is_some());

        let missing = std::fs::read("/nonexistent/sealpost").expect_err("no such file");
        assert!(!ClientError::from(missing).is_disk_full());
        assert!(!ClientError::offline("https://hub.example").is_disk_full());
    }
}
