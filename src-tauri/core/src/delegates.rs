//! The people who work a shared mailbox under their own names (named delegates): its
//! owner and managers invite and remove them; every delegate sees who shares it.

use reqwest::Method;
use sealpost_proto::{Delegate, DelegateList, NewDelegate};

use crate::error::Result;
use crate::hub::HubClient;
use crate::mailbox::Mailbox;

impl HubClient {
    /// `GET /mailbox/delegates`.
    pub async fn delegates(&self) -> Result<DelegateList> {
        self.call(Method::GET, "/mailbox/delegates", None::<&()>)
            .await
    }

    /// `POST /mailbox/delegates`.
    pub async fn invite_delegate(&self, new: &NewDelegate) -> Result<Delegate> {
        self.call(Method::POST, "/mailbox/delegates", Some(new))
            .await
    }

    /// `DELETE /mailbox/delegates/{id}`.
    pub async fn remove_delegate(&self, id: &str) -> Result<()> {
        self.call_empty(
            Method::DELETE,
            &format!("/mailbox/delegates/{id}"),
            None::<&()>,
        )
        .await
    }
}

impl Mailbox {
    /// The mailbox's named delegates, and whether this person may add and remove them.
    ///
    /// # Errors
    /// `Offline`; `SignInRequired`.
    pub async fn delegates(&self) -> Result<DelegateList> {
        self.hub.delegates().await
    }

    /// Invites the person `email`, named `name`, to work this mailbox as themselves; with
    /// `manager` they may also invite and remove people. They are emailed an invitation.
    ///
    /// # Errors
    /// `Refused` (`Invalid`) for an address or name the hub refuses, or someone who has
    /// access already; `RecipientNotAllowed` for an address of the organisation; a
    /// delegate who is not a manager is refused.
    pub async fn invite_delegate(
        &self,
        email: &str,
        name: &str,
        manager: bool,
    ) -> Result<Delegate> {
        self.hub
            .invite_delegate(&NewDelegate {
                email: email.trim().to_owned(),
                name: name.trim().to_owned(),
                role: Some(if manager { "manager" } else { "member" }.to_owned()),
            })
            .await
    }

    /// Takes the delegate `id`'s access away: their sessions on it end at once and their
    /// computers delete their copies.
    ///
    /// # Errors
    /// `NotFound`; a delegate who is not a manager is refused.
    pub async fn remove_delegate(&self, id: &str) -> Result<()> {
        self.hub.remove_delegate(id).await
    }
}
