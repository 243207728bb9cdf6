//! The address book: contacts and groups live at the hub (so every device of the mailbox
//! shares them) and reach the vault by sync, which also makes them available offline.

use sealpost_proto::{Contact, ContactInput, Group, GroupInput};

use crate::error::Result;
use crate::hub::Method;
use crate::mailbox::Mailbox;

impl Mailbox {
    /// Adds a contact (`id` `None`) or changes one, then brings the vault up to date.
    pub async fn save_contact(&self, id: Option<&str>, input: &ContactInput) -> Result<Contact> {
        let contact: Contact = match id {
            None => {
                self.hub
                    .call(Method::POST, "/contacts", Some(input))
                    .await?
            }
            Some(id) => {
                self.hub
                    .call(Method::PUT, &format!("/contacts/{id}"), Some(input))
                    .await?
            }
        };
        self.syncer.sync().await?;
        Ok(contact)
    }

    /// Deletes a contact (it leaves its groups too).
    pub async fn delete_contact(&self, id: &str) -> Result<()> {
        self.hub
            .call_empty(Method::DELETE, &format!("/contacts/{id}"), None::<&()>)
            .await?;
        self.syncer.sync().await.map(|_| ())
    }

    /// Adds a group (`id` `None`) or changes one, then brings the vault up to date.
    pub async fn save_group(&self, id: Option<&str>, input: &GroupInput) -> Result<Group> {
        let group: Group = match id {
            None => self.hub.call(Method::POST, "/groups", Some(input)).await?,
            Some(id) => {
                self.hub
                    .call(Method::PUT, &format!("/groups/{id}"), Some(input))
                    .await?
            }
        };
        self.syncer.sync().await?;
        Ok(group)
    }

    /// Deletes a group (its contacts stay).
    pub async fn delete_group(&self, id: &str) -> Result<()> {
        self.hub
            .call_empty(Method::DELETE, &format!("/groups/{id}"), None::<&()>)
            .await?;
        self.syncer.sync().await.map(|_| ())
    }
}
