//! A user's contacts and groups. Names and addresses are sealed with the mailbox's data
//! key like everything else the user keeps.

use sealpost_proto::{Contact, ContactInput, ContactList, Group, GroupInput, GroupList};
use serde::{Deserialize, Serialize};

use crate::accounts::Authenticated;
use crate::crypto::sealed::{open_entry, seal_entry};
use crate::crypto::{new_id, Field, MailboxKeys};
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::store::{EntryKind, EntryRow};

#[derive(Serialize, Deserialize)]
struct SealedContact {
    name: String,
    email: String,
}

#[derive(Serialize, Deserialize)]
struct SealedGroup {
    name: String,
    contact_ids: Vec<String>,
}

fn field(kind: EntryKind) -> Field {
    match kind {
        EntryKind::Contact => Field::Contact,
        EntryKind::Group => Field::Group,
    }
}

/// Decrypts a stored contact of `mailbox`.
pub(crate) fn view_contact(keys: &MailboxKeys, mailbox: &str, row: &EntryRow) -> Result<Contact> {
    let c: SealedContact = open_entry(keys, mailbox, &row.id, Field::Contact, &row.sealed)?;
    Ok(Contact {
        id: row.id.clone(),
        name: sealpost_proto::text::clean_line(&c.name),
        email: c.email,
    })
}

/// Decrypts a stored group of `mailbox`.
pub(crate) fn view_group(keys: &MailboxKeys, mailbox: &str, row: &EntryRow) -> Result<Group> {
    let g: SealedGroup = open_entry(keys, mailbox, &row.id, Field::Group, &row.sealed)?;
    Ok(Group {
        id: row.id.clone(),
        name: sealpost_proto::text::clean_line(&g.name),
        contact_ids: g.contact_ids,
    })
}

impl Hub {
    /// Every contact, by name.
    pub async fn contacts(&self, who: &Authenticated) -> Result<ContactList> {
        let key = self.mailbox_key(&who.account_id).await?;
        let account = who.account_id.clone();
        let rows = self
            .store
            .read(move |tx| tx.entries(&account, EntryKind::Contact))
            .await?;
        let mut items = rows
            .iter()
            .map(|r| view_contact(&key, &who.account_id, r))
            .collect::<Result<Vec<_>>>()?;
        items.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then(a.email.cmp(&b.email))
        });
        Ok(ContactList { items })
    }

    fn checked_contact(&self, input: &ContactInput) -> Result<SealedContact> {
        let email = self.email(&input.email)?;
        let name = &sealpost_proto::text::clean_line(&input.name);
        if name.chars().count() > 200 {
            return Err(Error::BadRequest(
                "a contact's name can be at most 200 characters".into(),
            ));
        }
        Ok(SealedContact {
            name: if name.is_empty() {
                email.clone()
            } else {
                name.to_owned()
            },
            email,
        })
    }

    /// Seals an address-book entry and stores it: a new one (`id` none) or a replacement
    /// of one of the user's own. Returns its id.
    async fn save_entry(
        &self,
        who: &Authenticated,
        kind: EntryKind,
        id: Option<&str>,
        value: &impl Serialize,
    ) -> Result<String> {
        let keys = self.mailbox_key(&who.account_id).await?;
        let account = who.account_id.clone();
        match id {
            None => {
                let prefix = match kind {
                    EntryKind::Contact => "con_",
                    EntryKind::Group => "grp_",
                };
                let id = new_id(self.entropy.as_ref(), prefix);
                let sealed = seal_entry(&keys.data, &account, &id, field(kind), value);
                let row_id = id.clone();
                self.store
                    .write(move |tx| tx.insert_entry(&account, kind, &row_id, &sealed))
                    .await?;
                Ok(id)
            }
            Some(id) => {
                let sealed = seal_entry(&keys.data, &account, id, field(kind), value);
                let row_id = id.to_owned();
                if !self
                    .store
                    .write(move |tx| tx.update_entry(&account, kind, &row_id, &sealed))
                    .await?
                {
                    return Err(Error::NotFound(kind.kind()));
                }
                Ok(id.to_owned())
            }
        }
    }

    /// Adds a contact, or replaces one (`id`). An address already in the address book
    /// (another contact, by the address rule) is refused with `Conflict`: one person, one
    /// contact. The check and the write are one store transaction, so two saves of the
    /// same address at once cannot both pass it.
    pub async fn save_contact(
        &self,
        who: &Authenticated,
        id: Option<&str>,
        input: &ContactInput,
    ) -> Result<Contact> {
        let contact = self.checked_contact(input)?;
        let key = self.mailbox_key(&who.account_id).await?;
        let fresh = id.is_none().then(|| new_id(self.entropy.as_ref(), "con_"));
        let (account, row_id, wanted) = (
            who.account_id.clone(),
            fresh
                .clone()
                .or_else(|| id.map(str::to_owned))
                .unwrap_or_default(),
            contact.email.clone(),
        );
        let sealed = seal_entry(&key.data, &account, &row_id, Field::Contact, &contact);
        let replacing = id.is_some();
        self.store
            .write(move |tx| {
                for row in tx.entries(&account, EntryKind::Contact)? {
                    if row.id == row_id {
                        continue;
                    }
                    let other = view_contact(&key, &account, &row)?;
                    if other.email == wanted {
                        return Err(Error::Conflict(format!(
                            "{wanted} is already in the address book, as {}; change that \
                             contact instead",
                            other.name
                        )));
                    }
                }
                if !replacing {
                    tx.insert_entry(&account, EntryKind::Contact, &row_id, &sealed)?;
                } else if !tx.update_entry(&account, EntryKind::Contact, &row_id, &sealed)? {
                    return Err(Error::NotFound(EntryKind::Contact.kind()));
                }
                Ok(())
            })
            .await?;
        Ok(Contact {
            id: fresh.unwrap_or_else(|| id.unwrap_or_default().to_owned()),
            name: contact.name,
            email: contact.email,
        })
    }

    /// Deletes a contact and takes it out of every group.
    pub async fn delete_contact(&self, who: &Authenticated, id: &str) -> Result<()> {
        let key = self.mailbox_key(&who.account_id).await?;
        let account = who.account_id.clone();
        let groups = self
            .store
            .read(move |tx| tx.entries(&account, EntryKind::Group))
            .await?;
        let mut rewritten = Vec::new();
        for g in &groups {
            let mailbox = &who.account_id;
            let mut group: SealedGroup = open_entry(&key, mailbox, &g.id, Field::Group, &g.sealed)?;
            if group.contact_ids.iter().any(|c| c == id) {
                group.contact_ids.retain(|c| c != id);
                let sealed = seal_entry(&key.data, mailbox, &g.id, Field::Group, &group);
                rewritten.push((g.id.clone(), sealed));
            }
        }
        let (account, id) = (who.account_id.clone(), id.to_owned());
        let now = self.now();
        let deleted = self
            .store
            .write(move |tx| {
                if !tx.delete_entry(&account, EntryKind::Contact, &id, now)? {
                    return Ok(false);
                }
                for (group_id, sealed) in &rewritten {
                    tx.update_entry(&account, EntryKind::Group, group_id, sealed)?;
                }
                Ok(true)
            })
            .await?;
        if deleted {
            Ok(())
        } else {
            Err(Error::NotFound("contact"))
        }
    }

    /// Every group, by name.
    pub async fn groups(&self, who: &Authenticated) -> Result<GroupList> {
        let key = self.mailbox_key(&who.account_id).await?;
        let account = who.account_id.clone();
        let rows = self
            .store
            .read(move |tx| tx.entries(&account, EntryKind::Group))
            .await?;
        let mut items = rows
            .iter()
            .map(|r| view_group(&key, &who.account_id, r))
            .collect::<Result<Vec<_>>>()?;
        items.sort_by_key(|a| a.name.to_lowercase());
        Ok(GroupList { items })
    }

    async fn checked_group(&self, who: &Authenticated, input: &GroupInput) -> Result<SealedGroup> {
        let name = &sealpost_proto::text::clean_line(&input.name);
        if name.is_empty() || name.chars().count() > 200 {
            return Err(Error::BadRequest(
                "a group needs a name of 1 to 200 characters".into(),
            ));
        }
        let account = who.account_id.clone();
        let ids = input.contact_ids.clone();
        let unknown = self
            .store
            .read(move |tx| {
                let mut unknown = Vec::new();
                for id in &ids {
                    if tx.entry(&account, EntryKind::Contact, id)?.is_none() {
                        unknown.push(id.clone());
                    }
                }
                Ok(unknown)
            })
            .await?;
        if !unknown.is_empty() {
            return Err(Error::NotFound("contact"));
        }
        // Each member once, in the order given.
        let mut contact_ids: Vec<String> = Vec::new();
        for id in &input.contact_ids {
            if !contact_ids.contains(id) {
                contact_ids.push(id.clone());
            }
        }
        Ok(SealedGroup {
            name: name.to_owned(),
            contact_ids,
        })
    }

    /// Adds a group, or replaces one (`id`).
    pub async fn save_group(
        &self,
        who: &Authenticated,
        id: Option<&str>,
        input: &GroupInput,
    ) -> Result<Group> {
        let group = self.checked_group(who, input).await?;
        let id = self.save_entry(who, EntryKind::Group, id, &group).await?;
        Ok(Group {
            id,
            name: group.name,
            contact_ids: group.contact_ids,
        })
    }

    /// Deletes a group (its contacts stay).
    pub async fn delete_group(&self, who: &Authenticated, id: &str) -> Result<()> {
        let (account, id) = (who.account_id.clone(), id.to_owned());
        let now = self.now();
        if self
            .store
            .write(move |tx| tx.delete_entry(&account, EntryKind::Group, &id, now))
            .await?
        {
            Ok(())
        } else {
            Err(Error::NotFound("group"))
        }
    }

    /// The addresses of a group's members.
    pub(crate) async fn group_addresses(
        &self,
        who: &Authenticated,
        key: &MailboxKeys,
        group_id: &str,
    ) -> Result<Vec<String>> {
        let (account, id) = (who.account_id.clone(), group_id.to_owned());
        let row = self
            .store
            .read(move |tx| tx.entry(&account, EntryKind::Group, &id))
            .await?
            .ok_or(Error::NotFound("group"))?;
        let group: SealedGroup =
            open_entry(key, &who.account_id, &row.id, Field::Group, &row.sealed)?;
        let account = who.account_id.clone();
        let rows = self
            .store
            .read(move |tx| {
                group
                    .contact_ids
                    .iter()
                    .filter_map(|id| tx.entry(&account, EntryKind::Contact, id).transpose())
                    .collect::<Result<Vec<_>>>()
            })
            .await?;
        rows.iter()
            .map(|r| {
                open_entry::<SealedContact>(key, &who.account_id, &r.id, Field::Contact, &r.sealed)
                    .map(|c| c.email)
            })
            .collect()
    }
}
