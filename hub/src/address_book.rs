//! A user's contacts and groups. Names and addresses are sealed to the mailbox key like
//! everything else the user keeps.

use sealpost_proto::{Contact, ContactInput, ContactList, Group, GroupInput, GroupList};
use serde::{Deserialize, Serialize};

use crate::accounts::Authenticated;
use crate::crypto::{new_id, MailboxKey, PublicKey};
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

fn seal_json(key: &PublicKey, value: &impl Serialize) -> Result<Vec<u8>> {
    let plain = zeroize::Zeroizing::new(
        serde_json::to_vec(value).expect("BUG: address-book entries serialise"),
    );
    Ok(key.seal(&plain)?)
}

fn open_json<T: for<'de> Deserialize<'de>>(key: &MailboxKey, sealed: &[u8]) -> Result<T> {
    let plain = key.open(sealed)?;
    serde_json::from_slice(plain.expose())
        .map_err(|e| Error::Other(format!("a stored entry is unreadable: {e}")))
}

/// Decrypts a stored contact.
pub(crate) fn view_contact(key: &MailboxKey, row: &EntryRow) -> Result<Contact> {
    let c: SealedContact = open_json(key, &row.sealed)?;
    Ok(Contact {
        id: row.id.clone(),
        name: sealpost_proto::text::clean_line(&c.name),
        email: c.email,
    })
}

/// Decrypts a stored group.
pub(crate) fn view_group(key: &MailboxKey, row: &EntryRow) -> Result<Group> {
    let g: SealedGroup = open_json(key, &row.sealed)?;
    Ok(Group {
        id: row.id.clone(),
        name: sealpost_proto::text::clean_line(&g.name),
        contact_ids: g.contact_ids,
    })
}

impl Hub {
    pub(crate) fn contact_view(&self, key: &MailboxKey, row: &EntryRow) -> Result<Contact> {
        view_contact(key, row)
    }

    pub(crate) fn group_view(&self, key: &MailboxKey, row: &EntryRow) -> Result<Group> {
        view_group(key, row)
    }

    async fn public_key(&self, account_id: &str) -> Result<PublicKey> {
        let id = account_id.to_owned();
        let account = self
            .store
            .read(move |tx| tx.account_by_id(&id))
            .await?
            .ok_or(Error::Unauthenticated)?;
        Ok(PublicKey::parse(&account.mailbox_public)?)
    }

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
            .map(|r| self.contact_view(&key, r))
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
        let sealed = seal_json(&self.public_key(&who.account_id).await?, value)?;
        let account = who.account_id.clone();
        match id {
            None => {
                let prefix = match kind {
                    EntryKind::Contact => "con_",
                    EntryKind::Group => "grp_",
                };
                let id = new_id(self.entropy.as_ref(), prefix);
                let row_id = id.clone();
                self.store
                    .write(move |tx| tx.insert_entry(&account, kind, &row_id, &sealed))
                    .await?;
                Ok(id)
            }
            Some(id) => {
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
        let sealed = seal_json(&self.public_key(&who.account_id).await?, &contact)?;
        let fresh = id.is_none().then(|| new_id(self.entropy.as_ref(), "con_"));
        let (account, row_id, wanted) = (
            who.account_id.clone(),
            fresh
                .clone()
                .or_else(|| id.map(str::to_owned))
                .unwrap_or_default(),
            contact.email.clone(),
        );
        let replacing = id.is_some();
        self.store
            .write(move |tx| {
                for row in tx.entries(&account, EntryKind::Contact)? {
                    if row.id == row_id {
                        continue;
                    }
                    let other = view_contact(&key, &row)?;
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
        let public = self.public_key(&who.account_id).await?;
        let account = who.account_id.clone();
        let groups = self
            .store
            .read(move |tx| tx.entries(&account, EntryKind::Group))
            .await?;
        let mut rewritten = Vec::new();
        for g in &groups {
            let mut group: SealedGroup = open_json(&key, &g.sealed)?;
            if group.contact_ids.iter().any(|c| c == id) {
                group.contact_ids.retain(|c| c != id);
                rewritten.push((g.id.clone(), seal_json(&public, &group)?));
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
            .map(|r| self.group_view(&key, r))
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
        key: &MailboxKey,
        group_id: &str,
    ) -> Result<Vec<String>> {
        let (account, id) = (who.account_id.clone(), group_id.to_owned());
        let row = self
            .store
            .read(move |tx| tx.entry(&account, EntryKind::Group, &id))
            .await?
            .ok_or(Error::NotFound("group"))?;
        let group: SealedGroup = open_json(key, &row.sealed)?;
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
            .map(|r| open_json::<SealedContact>(key, &r.sealed).map(|c| c.email))
            .collect()
    }
}
