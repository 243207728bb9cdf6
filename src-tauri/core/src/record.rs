//! Keeping a record of a message outside the vault, for a case file: the message as an
//! RFC 5322 email (`.eml`) with its attachments, which any mail program opens and which
//! stays readable after the message expires.

use std::path::Path;

use lettre::message::{
    header::{ContentTransferEncoding, ContentType},
    Attachment, Body, Mailbox as Address, MultiPart, SinglePart,
};

use crate::error::{ClientError, Result};
use crate::mailbox::{blocking, Mailbox};

impl Mailbox {
    /// The message `message_id` as an email (RFC 5322, MIME per RFC 2045–2049): its
    /// headers, its text and formatted versions, and every attachment (downloaded into the
    /// vault first when needed). The whole email is built in memory: at most the hub's
    /// attachment limit (75 MB by default) plus its base64 encoding.
    ///
    /// # Errors
    /// `NotFound` for an unknown message; download and vault errors as they come.
    pub async fn message_as_email(&self, message_id: &str) -> Result<Vec<u8>> {
        let message = self.vault.message(message_id)?;
        let mut files = Vec::new();
        for a in &message.summary.attachments {
            files.push((a.clone(), self.attachment(message_id, &a.id).await?));
        }
        let host = url_host(&self.account.hub_url);
        blocking(move || {
            let s = &message.summary;
            let address = |a: &str| -> Result<Address> {
                a.parse::<Address>().map_err(|e| {
                    ClientError::Other(format!(
                        "the address {a} cannot be written in an email: {e}"
                    ))
                })
            };
            let mut email = lettre::Message::builder()
                .from(address(&s.from)?)
                .subject(s.subject.clone())
                .message_id(Some(format!("<{}@{host}>", s.id)));
            for to in &s.to {
                email = email.to(address(to)?);
            }
            for cc in &s.cc {
                email = email.cc(address(cc)?);
            }
            if let Ok(sent) = chrono::DateTime::parse_from_rfc3339(&s.sent_at) {
                email = email.date(sent.into());
            }
            let text = SinglePart::plain(message.body_text.clone());
            let body = match &message.body_html {
                Some(html) => MultiPart::alternative()
                    .singlepart(text)
                    .singlepart(SinglePart::html(html.clone())),
                None => MultiPart::mixed().singlepart(text),
            };
            let mut parts = match message.body_html {
                Some(_) => MultiPart::mixed().multipart(body),
                None => body,
            };
            for (info, bytes) in files {
                let kind = ContentType::parse(&info.content_type).unwrap_or_else(|_| {
                    ContentType::parse("application/octet-stream").expect("BUG: a valid type")
                });
                let body = Body::new_with_encoding(bytes, ContentTransferEncoding::Base64)
                    .map_err(|_| ClientError::Other("an attachment cannot be encoded".into()))?;
                parts = parts.singlepart(Attachment::new(info.name).body(body, kind));
            }
            let email = email
                .multipart(parts)
                .map_err(|e| ClientError::Other(format!("the email cannot be built: {e}")))?;
            Ok(email.formatted())
        })
        .await
    }

    /// Writes the message as an email to `to` (replacing what is there: a save dialog
    /// asked). Returns the bytes written.
    ///
    /// # Errors
    /// As [`Mailbox::message_as_email`], and disk errors.
    pub async fn save_as_email(&self, message_id: &str, to: &Path) -> Result<u64> {
        let email = self.message_as_email(message_id).await?;
        let to = to.to_owned();
        blocking(move || {
            use std::io::Write;
            let mut file = std::fs::File::create(&to)?;
            file.write_all(&email)?;
            file.sync_all()?;
            Ok(email.len() as u64)
        })
        .await
    }

    /// Saves several messages as email files into `folder`, each named after its subject
    /// (`message.eml` when it has none); a name taken there gets a number, nothing is
    /// replaced. Returns what was written, in the order given.
    ///
    /// # Errors
    /// As [`Mailbox::message_as_email`], and disk errors (the files written before stay).
    pub async fn save_many_as_email(
        &self,
        message_ids: &[String],
        folder: &Path,
    ) -> Result<Vec<crate::attachments::SavedFile>> {
        let mut saved = Vec::new();
        for id in message_ids {
            let name = self.record_name(id, "eml")?;
            let email = self.message_as_email(id).await?;
            let folder = folder.to_owned();
            saved.push(
                blocking(move || {
                    use std::io::Write;
                    let (path, mut file) = crate::attachments::create_numbered(&folder, &name)?;
                    file.write_all(&email)?;
                    file.sync_all()?;
                    Ok(crate::attachments::SavedFile {
                        path,
                        bytes: email.len() as u64,
                    })
                })
                .await?,
            );
        }
        Ok(saved)
    }

    /// The file name a record of message `message_id` gets: its subject with `extension`
    /// (see [`crate::attachments::record_file_name`]).
    ///
    /// # Errors
    /// `NotFound` for an unknown message.
    pub fn record_name(&self, message_id: &str, extension: &str) -> Result<String> {
        let subject = self.vault.message(message_id)?.summary.subject;
        Ok(crate::attachments::record_file_name(&subject, extension))
    }
}

/// The host of a hub address, for message ids (`sealpost.invalid` when there is none).
fn url_host(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "sealpost.invalid".to_owned())
}
