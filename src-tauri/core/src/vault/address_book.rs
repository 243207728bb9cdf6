//! The address book as synced into the vault: contacts and groups, by name.

use sealpost_proto::{Contact, Group};

use super::Vault;
use crate::error::Result;

impl Vault {
    /// Every contact, by name.
    pub fn contacts(&self) -> Result<Vec<Contact>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, name, email FROM contacts ORDER BY name COLLATE NOCASE",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(Contact {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    email: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Every group, by name.
    pub fn groups(&self) -> Result<Vec<Group>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, name, contact_ids FROM groups ORDER BY name COLLATE NOCASE",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(Group {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    contact_ids: serde_json::from_str(&r.get::<_, String>(2)?).unwrap_or_default(),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}
