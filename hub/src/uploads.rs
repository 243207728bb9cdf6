//! Attachment bytes in and out: uploads stream through the age encryptor to disk, downloads
//! stream back through the decryptor. Memory stays flat whatever the size.

use std::io::Read;

use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use sealpost_proto::Upload;
use serde::{Deserialize, Serialize};
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::accounts::Authenticated;
use crate::crypto::{new_id, PublicKey};
use crate::error::{Error, Result};
use crate::hub::Hub;
use crate::store::UploadRow;
use sealpost_proto::text::clean_file_name;

/// How long an upload waits to be attached before it is removed.
pub const UPLOAD_HOURS: i64 = 24;

/// Whose upload it is.
#[derive(Debug, Clone)]
pub enum UploadOwner {
    /// A signed-in external user: sealed to their mailbox key.
    User(String),
    /// Organisation staff through an org token: sealed to the master key.
    Org,
}

impl UploadOwner {
    fn account_id(&self) -> &str {
        match self {
            Self::User(id) => id,
            Self::Org => "",
        }
    }
}

/// An upload's name and type, sealed with its bytes' key.
#[derive(Serialize, Deserialize)]
pub(crate) struct UploadMeta {
    pub name: String,
    pub content_type: String,
}

/// A download ready to stream.
pub struct Download {
    /// File name for `Content-Disposition`.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Plaintext size, for `Content-Length`.
    pub size: u64,
    /// The plaintext, in chunks.
    pub body: std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>,
}

impl Hub {
    fn upload_key(&self, owner: &UploadOwner, public: Option<String>) -> Result<PublicKey> {
        match (owner, public) {
            (UploadOwner::Org, _) => Ok(self.master.public()),
            (UploadOwner::User(_), Some(public)) => Ok(PublicKey::parse(&public)?),
            (UploadOwner::User(_), None) => Err(Error::Unauthenticated),
        }
    }

    /// Streams an upload to an encrypted file. Refuses at once when `declared` (the
    /// Content-Length) is over the limit, and stops reading as soon as the bytes cross it;
    /// either way no file is left behind.
    pub async fn store_upload<S, E>(
        &self,
        owner: UploadOwner,
        name: &str,
        content_type: Option<&str>,
        declared: Option<u64>,
        body: S,
    ) -> Result<Upload>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let limits = &self.config.limits;
        let too_large = Error::AttachmentLimit {
            max_files: limits.max_attachments,
            max_total_bytes: limits.max_attachment_bytes,
        };
        if declared.is_some_and(|n| n > limits.max_attachment_bytes) {
            return Err(too_large);
        }
        let public = match &owner {
            UploadOwner::User(id) => {
                let id = id.clone();
                self.store
                    .read(move |tx| tx.account_by_id(&id))
                    .await?
                    .map(|a| a.mailbox_public)
            }
            UploadOwner::Org => None,
        };
        let key = self.upload_key(&owner, public)?;
        let name = clean_file_name(name);
        let content_type = content_type
            .filter(|t| !t.is_empty() && *t != "application/octet-stream" && t.len() < 200)
            .map(str::to_owned)
            .unwrap_or_else(|| {
                mime_guess::from_path(&name)
                    .first_or_octet_stream()
                    .essence_str()
                    .to_owned()
            });
        let id = new_id(self.entropy.as_ref(), "upl_");
        let relative = crate::blobs::Blobs::name_for(&id);
        let limit = limits.max_attachment_bytes;
        let reader = StreamReader::new(body.map_err(|e| std::io::Error::other(e.into())));
        let (writer_key, blobs, blob) = (key.clone(), self.blobs.clone(), relative.clone());
        let (size, stored_bytes) = tokio::task::spawn_blocking(move || {
            let input = SyncIoBridge::new(reader).take(limit + 1);
            let written = (|| {
                let mut writer = blobs.create(&blob)?;
                let size = writer_key.seal_into(input, &mut writer)?;
                // Not flushed to disk yet: that cost is paid once, when the upload is
                // attached (`durable_upload`), and not at all for uploads never used.
                Ok::<_, crate::crypto::CryptoError>((size, writer.finish()?))
            })();
            if written.is_err() {
                let _ = blobs.remove(&blob);
            }
            written
        })
        .await
        .map_err(|e| Error::Other(format!("upload task failed: {e}")))?
        .map_err(|e| match e {
            crate::crypto::CryptoError::Io(io) => Error::BadRequest(format!(
                "the upload was interrupted before it finished ({io}); send it again"
            )),
            other => other.into(),
        })?;
        if size > limit {
            let _ = self.blobs.remove(&relative);
            return Err(too_large);
        }
        let meta = serde_json::to_vec(&UploadMeta {
            name: name.clone(),
            content_type,
        })
        .expect("BUG: upload meta serialises");
        let row = UploadRow {
            id: id.clone(),
            account_id: owner.account_id().to_owned(),
            size,
            blob: relative.clone(),
            stored_bytes,
            sealed: key.seal(&meta)?,
        };
        let now = self.now();
        let expires = now + chrono::Duration::hours(UPLOAD_HOURS);
        if let Err(e) = self
            .store
            .write(move |tx| tx.insert_upload(&row, now, expires))
            .await
        {
            // A fault of the store may have come after the commit: the file stays for the
            // orphan sweep, which removes it only if no row refers to it.
            if !matches!(e, Error::Store(_)) {
                let _ = self.blobs.remove(&relative);
            }
            return Err(e);
        }
        Ok(Upload {
            upload_id: id,
            name,
            size,
        })
    }

    /// Stores an organisation upload read from `input` (an attachment inside an email),
    /// sealed to the master key as it is read. Blocking: call it off the runtime.
    ///
    /// # Errors
    /// [`Error::AttachmentLimit`] once the bytes pass the attachment limit (nothing is
    /// kept); faults of the reader, the files or the store.
    pub(crate) fn store_org_upload_blocking(
        &self,
        name: &str,
        content_type: &str,
        input: &mut dyn Read,
    ) -> Result<Upload> {
        let limits = &self.config.limits;
        let key = self.master.public();
        let name = clean_file_name(name);
        let id = new_id(self.entropy.as_ref(), "upl_");
        let relative = crate::blobs::Blobs::name_for(&id);
        let written = (|| {
            let mut writer = self.blobs.create(&relative)?;
            let size = key.seal_into(input.take(limits.max_attachment_bytes + 1), &mut writer)?;
            Ok::<_, crate::crypto::CryptoError>((size, writer.finish()?))
        })();
        let (size, stored_bytes) = match written {
            Ok(sizes) => sizes,
            Err(e) => {
                let _ = self.blobs.remove(&relative);
                return Err(e.into());
            }
        };
        if size > limits.max_attachment_bytes {
            let _ = self.blobs.remove(&relative);
            return Err(Error::AttachmentLimit {
                max_files: limits.max_attachments,
                max_total_bytes: limits.max_attachment_bytes,
            });
        }
        let meta = serde_json::to_vec(&UploadMeta {
            name: name.clone(),
            content_type: content_type.to_owned(),
        })
        .expect("BUG: upload meta serialises");
        let row = UploadRow {
            id: id.clone(),
            account_id: String::new(),
            size,
            blob: relative.clone(),
            stored_bytes,
            sealed: key.seal(&meta)?,
        };
        let now = self.now();
        let expires = now + chrono::Duration::hours(UPLOAD_HOURS);
        if let Err(e) = self
            .store
            .write_blocking(move |tx| tx.insert_upload(&row, now, expires))
        {
            if !matches!(e, Error::Store(_)) {
                let _ = self.blobs.remove(&relative);
            }
            return Err(e);
        }
        Ok(Upload {
            upload_id: id,
            name,
            size,
        })
    }

    /// Makes an upload's file durable before a message refers to it, and checks that it
    /// is whole: a hub that crashed after the upload was answered may have lost its tail.
    pub(crate) fn durable_upload(&self, row: &UploadRow) -> Result<()> {
        match self.blobs.make_durable(&row.blob) {
            Ok(len) if len == row.stored_bytes => Ok(()),
            _ => Err(Error::NotFound("upload")),
        }
    }

    /// Streams an attachment of the user's message, decrypting as it goes.
    pub async fn download(
        &self,
        who: &Authenticated,
        message_id: &str,
        attachment_id: &str,
    ) -> Result<Download> {
        let key = self.mailbox_key(&who.account_id).await?;
        let row = self.message_row(who, message_id).await?;
        let attachment = row
            .attachments
            .iter()
            .find(|a| a.id == attachment_id)
            .cloned()
            .ok_or(Error::NotFound("attachment"))?;
        let view = self.message_view(&key, &row)?;
        let info = view
            .summary
            .attachments
            .into_iter()
            .find(|a| a.id == attachment_id)
            .ok_or(Error::NotFound("attachment"))?;
        let file = self
            .blobs
            .open(&attachment.blob)
            .map_err(|e| match e.kind() {
                // Lost (a restore without it, a disk fault): said as such, not as a fault.
                std::io::ErrorKind::NotFound => Error::NotFound("attachment file"),
                _ => e.into(),
            })?;
        let (now, signer, ip, audited) = (
            self.now(),
            who.signer.clone(),
            who.ip.clone(),
            format!("{message_id}/{attachment_id}"),
        );
        self.store
            .write(move |tx| tx.audit_by(now, "attachment_downloaded", &signer, &ip, &audited))
            .await?;
        let mut reader = key.files.open_stream(file)?;
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
        tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        if tx
                            .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                            .is_err()
                        {
                            return; // the client went away
                        }
                    }
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                }
            }
        });
        let body = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Ok(Download {
            name: info.name,
            content_type: info.content_type,
            size: info.size,
            body: Box::pin(body),
        })
    }
}
