//! Named delegates of shared mailboxes: the people a team's generic address
//! (`care.referrals@partner.org`) is worked by, each signing in with their own address,
//! password, lock and two-step sign-in, so that who did what is known and a leaver's
//! access ends at once.
//!
//! The mailbox's owner (its own sign-in) and its managers invite and remove delegates from
//! the app; the hub admin does the same from the CLI and can make a mailbox shared-only.

use sealpost_proto::{Delegate, DelegateList, NewDelegate};

use crate::accounts::Authenticated;
use crate::clock::rfc3339;
use crate::crypto::envelope::{Field, Place};
use crate::error::{Error, Result};
use crate::hub::{Caller, Hub};
use crate::store::{Account, AccountStatus, DelegateRole, Delegation, LinkPurpose};

/// The longest name a delegate may be given, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// The most delegates one mailbox may have.
pub const MAX_DELEGATES: usize = 100;

/// How many invitations one mailbox's owner and managers may send in an hour (an
/// invitation is an email to any address: this keeps the feature from being a way to
/// send mail in the organisation's name). One address gets at most one every 10 minutes.
pub const INVITES_PER_MAILBOX_PER_HOUR: u32 = 20;

/// Who adds or removes a delegate.
#[derive(Debug, Clone)]
pub enum ActingFor {
    /// The mailbox's owner or a manager, signed in.
    Person(Authenticated),
    /// The hub admin at the CLI.
    Admin,
}

impl ActingFor {
    fn name(&self) -> String {
        match self {
            Self::Person(who) => who.signer.person_email.clone(),
            Self::Admin => "admin".to_owned(),
        }
    }
}

impl Hub {
    /// A delegate's name, opened with the mailbox's data key.
    pub(crate) async fn delegate_name(&self, d: &Delegation) -> Result<String> {
        let keys = self.mailbox_key(&d.mailbox_id).await?;
        let name = keys.data.open(
            Place {
                mailbox: &d.mailbox_id,
                row: &d.person_id,
                field: Field::DelegateName,
            },
            &d.sealed_name,
        )?;
        Ok(String::from_utf8_lossy(name.expose()).into_owned())
    }

    async fn delegate_view(&self, d: &Delegation) -> Result<Delegate> {
        Ok(Delegate {
            id: d.person_id.clone(),
            email: d.person_email.clone(),
            name: self.delegate_name(d).await?,
            role: d.role.as_str().to_owned(),
            joined: d.joined_at.is_some(),
            added_at: rfc3339(d.added_at),
            added_by: d.added_by.clone(),
        })
    }

    /// Whether the caller may add and remove the mailbox's delegates: its own sign-in, or
    /// a manager.
    async fn can_manage(&self, who: &Authenticated) -> Result<bool> {
        if !who.is_delegate() {
            return Ok(true);
        }
        let (mailbox, person) = (who.account_id.clone(), who.signer.person_id.clone());
        let d = self
            .store
            .read(move |tx| tx.delegation(&mailbox, &person))
            .await?;
        Ok(d.is_some_and(|d| d.role == DelegateRole::Manager))
    }

    /// The delegates of the caller's mailbox (every delegate may see who shares it).
    pub async fn list_delegates(&self, who: &Authenticated) -> Result<DelegateList> {
        let mailbox = who.account_id.clone();
        let found = self.store.read(move |tx| tx.delegates_of(&mailbox)).await?;
        // The caller's own line, if a delegate, says whether they manage it.
        let can_manage = !who.is_delegate()
            || found
                .iter()
                .any(|d| d.person_id == who.signer.person_id && d.role == DelegateRole::Manager);
        Ok(DelegateList {
            mailbox: who.signer.mailbox_email.clone(),
            can_manage,
            items: self.delegate_views(&found).await?,
        })
    }

    async fn delegate_views(&self, found: &[Delegation]) -> Result<Vec<Delegate>> {
        let mut items = Vec::with_capacity(found.len());
        for d in found {
            items.push(self.delegate_view(d).await?);
        }
        Ok(items)
    }

    /// Invites a person to work the caller's mailbox (see [`Hub::add_delegate`]).
    ///
    /// # Errors
    /// `NotPermitted` for a delegate who is not a manager; as [`Hub::add_delegate`].
    pub async fn invite_delegate(
        &self,
        who: &Authenticated,
        new: &NewDelegate,
        caller: &Caller,
    ) -> Result<Delegate> {
        if !self.can_manage(who).await? {
            return Err(Error::NotPermitted(
                "Only the mailbox's owner or a manager may invite people to it.".into(),
            ));
        }
        let id = who.account_id.clone();
        let mailbox = self
            .store
            .read(move |tx| tx.account_by_id(&id))
            .await?
            .ok_or(Error::Unauthenticated)?;
        self.add_delegate(&mailbox, new, ActingFor::Person(who.clone()), caller)
            .await
    }

    /// Gives the person `new.email` access to `mailbox` under the name `new.name`, and
    /// emails them an invitation (no content). A person with no account here gets one,
    /// pending, and the invitation carries a link to choose their password; asking again
    /// for someone who has not registered yet sends a new link.
    ///
    /// # Errors
    /// `BadRequest` for an address that is not one, the mailbox's own, a name that is
    /// empty, too long or holds control characters, or an unknown role;
    /// `RecipientNotAllowed` for an address of the organisation (its staff use their own
    /// mail); `Conflict` when the person has access already.
    pub async fn add_delegate(
        &self,
        mailbox: &Account,
        new: &NewDelegate,
        by: ActingFor,
        caller: &Caller,
    ) -> Result<Delegate> {
        let email = sealpost_proto::address::normalise(&new.email).map_err(|why| {
            Error::BadRequest(format!("{:?} is not an email address: {why}", new.email))
        })?;
        if email == mailbox.email {
            return Err(Error::Conflict(
                "That is this mailbox's own address: invite a person by their own address.".into(),
            ));
        }
        if self.config.is_org_address(&email) {
            return Err(Error::OrgAddressNotDelegate(email));
        }
        let name = delegate_name(&new.name, &email)?;
        let role = match new.role.as_deref().map(str::trim) {
            None | Some("") => DelegateRole::Member,
            Some(r) => DelegateRole::parse(r).ok_or_else(|| {
                Error::BadRequest(format!("{r:?} is not a role: use member or manager."))
            })?,
        };
        let (lookup, mailbox_id) = (email.clone(), mailbox.id.clone());
        let (has_access, is_shared) = self
            .store
            .read(move |tx| {
                Ok(match tx.account_by_email(&lookup)? {
                    Some(p) if p.status != AccountStatus::Pending => {
                        (tx.delegation(&mailbox_id, &p.id)?.is_some(), p.shared_only)
                    }
                    Some(p) => (false, p.shared_only),
                    None => (false, false),
                })
            })
            .await?;
        if is_shared {
            return Err(Error::Conflict(format!(
                "{email} is a shared-only mailbox, which never signs in: invite the people \
                 who work it, by their own addresses"
            )));
        }
        if has_access {
            return Err(Error::Conflict(format!(
                "{email} has access to {} already; nothing was changed",
                mailbox.email
            )));
        }
        if let ActingFor::Person(_) = &by {
            let now = self.now();
            // Per mailbox and address: another mailbox's invitation is not told here.
            self.invites_by_address
                .hit(&format!("{}|{email}", mailbox.id), now)
                .await
                .map_err(Error::InvitedRecently)?;
            self.invites_by_mailbox
                .hit(&mailbox.id, now)
                .await
                .map_err(Error::RateLimited)?;
        }
        let (person_id, person_email, _, status) = self.ensure_mailbox(&email).await?;
        let keys = self.mailbox_key(&mailbox.id).await?;
        let sealed = keys.data.seal(
            Place {
                mailbox: &mailbox.id,
                row: &person_id,
                field: Field::DelegateName,
            },
            name.as_bytes(),
        );
        let link =
            (status == AccountStatus::Pending).then(|| self.prepare_link(LinkPurpose::Register));
        let now = self.now();
        let (mailbox_id, mailbox_email) = (mailbox.id.clone(), mailbox.email.clone());
        let (added_by, ip) = (by.name(), caller.ip.clone());
        let (person, stored_link) = (
            person_id.clone(),
            link.as_ref().map(|l| (l.hash.clone(), l.expires_at)),
        );
        self.store
            .write(move |tx| {
                if tx.delegation(&mailbox_id, &person)?.is_none()
                    && tx.delegates_of(&mailbox_id)?.len() >= MAX_DELEGATES
                {
                    return Err(Error::Conflict(format!(
                        "{mailbox_email} has {MAX_DELEGATES} delegates already, the most a \
                         mailbox may have; remove someone first"
                    )));
                }
                let added =
                    tx.insert_delegate(&mailbox_id, &person, &sealed, role, &added_by, now)?;
                if !added && stored_link.is_none() {
                    return Err(Error::Conflict(format!(
                        "{person_email} has access to {mailbox_email} already; nothing was changed"
                    )));
                }
                if let Some((hash, expires)) = &stored_link {
                    tx.insert_link(hash, LinkPurpose::Register, &person, now, *expires)?;
                }
                let event = if added {
                    "delegate_added"
                } else {
                    "delegate_invited_again"
                };
                let detail = format!(
                    "person: {person_email}; role: {}; by: {added_by}",
                    role.as_str()
                );
                tx.audit(now, event, &mailbox_email, &ip, &detail)?;
                Ok(added)
            })
            .await?;
        let org = &self.config.org_name;
        let mail = match &link {
            Some(link) => crate::mail::templates::delegate_invitation(
                org,
                &mailbox.email,
                &link.url,
                link.expires_at,
            ),
            None => crate::mail::templates::delegate_added(org, &mailbox.email),
        };
        self.queue_email(&email, "delegate_invitation", mail)
            .await?;
        let (mailbox_id, person) = (mailbox.id.clone(), person_id);
        let d = self
            .store
            .read(move |tx| tx.delegation(&mailbox_id, &person))
            .await?
            .ok_or(Error::NotFound("delegate"))?;
        self.delegate_view(&d).await
    }

    /// Takes a delegate's access to the caller's mailbox away (see [`Hub::remove_delegate`]).
    ///
    /// # Errors
    /// `NotPermitted` for a delegate who is not a manager; `NotFound` for an id that is
    /// not one of the mailbox's delegates.
    pub async fn remove_delegate_by(
        &self,
        who: &Authenticated,
        person_id: &str,
        caller: &Caller,
    ) -> Result<()> {
        if !self.can_manage(who).await? {
            return Err(Error::NotPermitted(
                "Only the mailbox's owner or a manager may remove people from it.".into(),
            ));
        }
        self.remove_delegate(
            &who.account_id,
            person_id,
            ActingFor::Person(who.clone()),
            caller,
        )
        .await
    }

    /// Takes a person's access to a mailbox away: every session they opened on it ends at
    /// once (Remember me too), and their devices, told `access_removed`, delete their
    /// copies. They are emailed that it happened.
    ///
    /// # Errors
    /// `NotFound` when they are not its delegate.
    pub async fn remove_delegate(
        &self,
        mailbox_id: &str,
        person_id: &str,
        by: ActingFor,
        caller: &Caller,
    ) -> Result<()> {
        let (mailbox, person) = (mailbox_id.to_owned(), person_id.to_owned());
        let (now, ip, by_name) = (self.now(), caller.ip.clone(), by.name());
        let (mailbox_email, person_email) = self
            .store
            .write(move |tx| {
                let d = tx
                    .delegation(&mailbox, &person)?
                    .ok_or(Error::NotFound("delegate"))?;
                let shared_only = tx.account_by_id(&mailbox)?.is_some_and(|m| m.shared_only);
                let others = tx.delegates_of(&mailbox)?;
                let last_manager = d.role == DelegateRole::Manager
                    && !others
                        .iter()
                        .any(|o| o.person_id != person && o.role == DelegateRole::Manager);
                if shared_only && last_manager && matches!(by, ActingFor::Person(_)) {
                    return Err(Error::Conflict(format!(
                        "{} is shared-only and {} is its last manager: nobody but the hub's \
                         administrator could invite or remove people any more. Ask the \
                         administrator to make someone else a manager first",
                        d.mailbox_email, d.person_email
                    )));
                }
                if shared_only && others.len() == 1 {
                    return Err(Error::Conflict(format!(
                        "{} is shared-only and {} is its last delegate: nobody could work it \
                         any more. Add someone else first",
                        d.mailbox_email, d.person_email
                    )));
                }
                tx.remove_delegate(&mailbox, &person, now)?;
                tx.audit(
                    now,
                    "delegate_removed",
                    &d.mailbox_email,
                    &ip,
                    &format!("person: {}; by: {by_name}", d.person_email),
                )?;
                Ok((d.mailbox_email, d.person_email))
            })
            .await?;
        let mail = crate::mail::templates::delegate_removed(&self.config.org_name, &mailbox_email);
        self.queue_email(&person_email, "delegate_removed", mail)
            .await
    }

    /// The mailbox with address `email` (admin commands).
    ///
    /// # Errors
    /// `UnknownUser`.
    pub async fn mailbox_by_email(&self, email: &str) -> Result<Account> {
        let email = sealpost_proto::address::normalise(email)
            .map_err(|_| Error::UnknownUser(email.to_owned()))?;
        let lookup = email.clone();
        self.store
            .read(move |tx| tx.account_by_email(&lookup))
            .await?
            .ok_or(Error::UnknownUser(email))
    }

    /// The delegates of the mailbox `email` (admin commands).
    pub async fn delegates_of(&self, email: &str) -> Result<Vec<Delegate>> {
        let mailbox = self.mailbox_by_email(email).await?;
        let found = self
            .store
            .read(move |tx| tx.delegates_of(&mailbox.id))
            .await?;
        self.delegate_views(&found).await
    }

    /// Makes the mailbox `email` shared-only: it has no password of its own any more (its
    /// own sessions end, a registration or reset link it had stops working), so only its
    /// named delegates work it.
    ///
    /// # Errors
    /// `UnknownUser`; `Conflict` when it has no delegate yet (nobody could work it).
    pub async fn make_shared_only(&self, email: &str, caller: &Caller) -> Result<()> {
        let mailbox = self.mailbox_by_email(email).await?;
        let (now, ip) = (self.now(), caller.ip.clone());
        self.store
            .write(move |tx| {
                if tx.delegates_of(&mailbox.id)?.is_empty() {
                    return Err(Error::Conflict(format!(
                        "{} has no delegates yet, so nobody could work it: add one first \
                         (admin mailbox add-delegate)",
                        mailbox.email
                    )));
                }
                tx.make_shared_only(&mailbox.id, now)?;
                tx.audit(now, "mailbox_shared_only", &mailbox.email, &ip, "")
            })
            .await
    }
}

/// A delegate's name as given, checked: no control characters (it goes into email headers
/// and the audit log), then made one plain line as other names are
/// ([`sealpost_proto::text::clean_line`]: characters that reorder or hide text go, so a
/// name cannot pass for another sender in a mail program), 1 to [`MAX_NAME_CHARS`]
/// characters. A name of nothing but such characters is the person's address instead.
fn delegate_name(given: &str, email: &str) -> Result<String> {
    if given.chars().any(char::is_control) {
        return Err(Error::BadRequest(
            "The name holds a line break or another control character; type it on one line.".into(),
        ));
    }
    let name = sealpost_proto::text::clean_line(given);
    if name.is_empty() && !given.trim().is_empty() {
        return Ok(email.to_owned());
    }
    if name.is_empty() {
        return Err(Error::BadRequest(
            "Give the person's name, as staff should see it (e.g. Alice Smith).".into(),
        ));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::BadRequest(format!(
            "The name is longer than {MAX_NAME_CHARS} characters; shorten it."
        )));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_trimmed_and_checked() {
        assert_eq!(
            delegate_name("  Alice Smith ", "a@b.example").unwrap(),
            "Alice Smith"
        );
        assert!(delegate_name("   ", "a@b.example").is_err());
        assert!(delegate_name("Alice\r\nBcc: x@example.org", "a@b.example").is_err());
        assert!(delegate_name(&"a".repeat(MAX_NAME_CHARS + 1), "a@b.example").is_err());
        // A right-to-left override would make a name read as another sender's.
        assert_eq!(
            delegate_name("Dave \u{202e}elpmaxe.rentrap@slarrefer", "a@b.example").unwrap(),
            "Dave elpmaxe.rentrap@slarrefer"
        );
        assert_eq!(
            delegate_name("Ann\u{2028}Lee", "a@b.example").unwrap(),
            "Ann Lee"
        );
        assert_eq!(
            delegate_name("\u{202e}\u{200b}", "a@b.example").unwrap(),
            "a@b.example",
            "nothing left to show: the address stands in"
        );
        assert_eq!(
            delegate_name(&"é".repeat(MAX_NAME_CHARS), "a@b.example")
                .unwrap()
                .chars()
                .count(),
            MAX_NAME_CHARS
        );
    }
}
