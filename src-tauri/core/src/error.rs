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
    /// Disabled by the hub's admin.
    AccountDisabled,
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

/// A failure of the client core.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The hub refused; `code` and `message` come from its answer.
    #[error("{message}")]
    Hub {
        /// The refusal's kind.
        code: Code,
        /// The hub's sentence.
        message: String,
        /// The hub's whole error, with fields like `refused` or `locked_until`.
        detail: Box<sealpost_proto::ApiError>,
    },
    /// The hub cannot be reached.
    #[error(
        "the hub at {0} cannot be reached; check the network connection (work continues offline)"
    )]
    Offline(String),
    /// The keyring failed.
    #[error(transparent)]
    Keyring(#[from] crate::keyring::KeyringError),
    /// The vault failed.
    #[error("{0}")]
    Vault(String),
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
    /// A local file problem.
    #[error("{0}")]
    Io(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

impl ClientError {
    /// The kind, for the UI.
    pub fn code(&self) -> Code {
        match self {
            Self::Hub { code, .. } | Self::Refused { code, .. } => *code,
            Self::Offline(_) => Code::Offline,
            Self::Keyring(_) => Code::Keyring,
            Self::Vault(_) => Code::Vault,
            Self::NotFound(_) => Code::NotFound,
            Self::SignInRequired => Code::SignInRequired,
            Self::Io(_) | Self::Other(_) => Code::Internal,
        }
    }
}

impl From<rusqlite::Error> for ClientError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            if f.code == rusqlite::ErrorCode::DiskFull {
                return Self::Vault(
                    "the disk is full: the vault could not be written. Free some space; nothing already saved was lost"
                        .into(),
                );
            }
        }
        Self::Vault(format!("the vault could not be read or written: {e}"))
    }
}

impl From<std::io::Error> for ClientError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::StorageFull {
            return Self::Io(
                "the disk is full: a file could not be written. Free some space and try again"
                    .into(),
            );
        }
        Self::Io(format!("a file could not be read or written: {e}"))
    }
}

/// The client core's result type.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;
