//! The Sealpost desktop's core, with no window attached: the encrypted vault, the OS
//! keyring, the hub connection, sync, search, compose and the outbox. The Tauri app and the
//! `sealpost` command line are thin layers over it: both go through [`Mailboxes`] for what
//! opens, creates, locks or removes a mailbox, and through [`Mailbox`] for the rest.

pub mod accounts;
mod address_book;
pub mod attachments;
pub mod compose;
mod delegates;
pub mod error;
pub mod hub;
pub mod keyring;
pub mod links;
mod lock;
pub mod mailbox;
pub mod mailboxes;
pub mod mfa;
pub mod outbox;
pub mod policy;
pub mod preferences;
mod record;

pub mod sync;
pub mod system;
pub mod updates;
pub mod vault;

pub use accounts::{AccountRecord, Accounts};
pub use attachments::{OpenedFiles, SavedFile};
pub use compose::{Compose, ComposeFile};
pub use error::{ClientError, Code, Result};
pub use mailbox::{Mailbox, Progress};
pub use mailboxes::Mailboxes;
pub use sealpost_common::Sensitive;
pub use vault::Vault;
