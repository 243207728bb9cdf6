//! The client core against a real hub on loopback: sync into a real SQLCipher vault.

mod compose;
mod delegates;
mod errors;
mod journey;
mod lock;
mod mailboxes;
mod outbox;
mod remember;
mod sync;
mod updates;
mod vault;
