//! What the Sealpost hub and the desktop client both need beyond the wire types of
//! `sealpost-proto`: the runner for each SQLite database's append-only migrations, and
//! [`Sensitive`], the wrapper every secret travels in.

mod migrations;
mod sensitive;

pub use migrations::{migrate, MigrateError};
pub use sensitive::Sensitive;
