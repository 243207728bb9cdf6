//! A message's attachments: downloaded once into the vault (encrypted, chunk by chunk, so
//! memory stays flat), read back, and saved to the file a person chose.

use std::{fs, path::Path};

use crate::error::{ClientError, Code, Result};
use crate::mailbox::{blocking, Mailbox};

impl Mailbox {
    /// Makes sure an attachment is in the vault: downloaded once, chunk by chunk (memory
    /// stays flat whatever the size), kept encrypted for offline use.
    pub async fn fetch_attachment(&self, message_id: &str, attachment_id: &str) -> Result<()> {
        let vault = self.vault.clone();
        let id = attachment_id.to_owned();
        let cached = blocking(move || vault.attachment_cached(&id)).await?;
        if cached {
            return Ok(());
        }
        let (total, mut stream) = self.hub.download(message_id, attachment_id).await?;
        let mut progress = self.progress_for(attachment_id);
        let (vault, id) = (self.vault.clone(), attachment_id.to_owned());
        blocking(move || vault.attachment_cache_begin(&id)).await?;
        let mut buffer: Vec<u8> = Vec::with_capacity(crate::vault::CHUNK);
        let (mut seq, mut received) = (0u32, 0u64);
        loop {
            let next = futures_util::StreamExt::next(&mut stream)
                .await
                .transpose()?;
            let done = next.is_none();
            if let Some(bytes) = next {
                received += bytes.len() as u64;
                buffer.extend_from_slice(&bytes);
                progress(received, total.max(received));
            }
            while buffer.len() >= crate::vault::CHUNK || (done && !buffer.is_empty()) {
                let take = buffer.len().min(crate::vault::CHUNK);
                let chunk: Vec<u8> = buffer.drain(..take).collect();
                let (vault, id) = (self.vault.clone(), attachment_id.to_owned());
                blocking(move || vault.attachment_cache_put(&id, seq, &chunk)).await?;
                seq += 1;
            }
            if done {
                break;
            }
        }
        let (vault, id) = (self.vault.clone(), attachment_id.to_owned());
        blocking(move || vault.attachment_cache_finish(&id)).await
    }

    /// An attachment's bytes, whole in memory (for showing small files).
    pub async fn attachment(&self, message_id: &str, attachment_id: &str) -> Result<Vec<u8>> {
        self.fetch_attachment(message_id, attachment_id).await?;
        let (vault, id) = (self.vault.clone(), attachment_id.to_owned());
        blocking(move || vault.cached_attachment(&id))
            .await?
            .ok_or(ClientError::NotFound("attachment"))
    }

    /// Saves an attachment to the file the person chose, and only there, chunk by chunk.
    /// A file already at `to` is replaced only with `replace` (a save dialog asked);
    /// otherwise it is left as it is and the answer says so. Returns the bytes written.
    pub async fn save_attachment(
        &self,
        message_id: &str,
        attachment_id: &str,
        to: &Path,
        replace: bool,
    ) -> Result<u64> {
        self.fetch_attachment(message_id, attachment_id).await?;
        let (vault, id, to) = (self.vault.clone(), attachment_id.to_owned(), to.to_owned());
        blocking(move || {
            use std::io::Write;
            // Straight to the chosen path: no temporary copy of the plaintext anywhere else.
            let opened = match replace {
                true => fs::File::create(&to),
                false => fs::File::options().write(true).create_new(true).open(&to),
            };
            let mut file = match opened {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(ClientError::Refused {
                        code: Code::Invalid,
                        message: format!(
                            "{} exists already and was left as it is; choose another name",
                            to.display()
                        ),
                        refused: Vec::new(),
                    });
                }
                other => other?,
            };
            let (mut seq, mut written) = (0u32, 0u64);
            while let Some(chunk) = vault.attachment_chunk(&id, seq)? {
                file.write_all(&chunk)?;
                written += chunk.len() as u64;
                seq += 1;
            }
            file.sync_all()?;
            Ok(written)
        })
        .await
    }
}
