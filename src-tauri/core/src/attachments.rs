//! A message's attachments: downloaded once into the vault (encrypted, chunk by chunk, so
//! memory stays flat), read back, saved to the file or folder a person chose, or copied
//! into the private folder of [`OpenedFiles`] to be opened in another application.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

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
            // Straight to the chosen path: no temporary copy of the plaintext anywhere else.
            let opened = match replace {
                true => fs::File::create(&to),
                false => fs::File::options().write(true).create_new(true).open(&to),
            };
            let file = match opened {
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
            write_out(&vault, &id, file)
        })
        .await
    }

    /// Saves every attachment of a message into `folder`, under its own name made safe for
    /// a file system. A name already taken there gets a number (`report (2).pdf`): nothing
    /// in the folder is replaced. Returns what was written, in the message's order.
    ///
    /// # Errors
    /// `NotFound` for an unknown message; download, disk and vault errors as they come
    /// (the files written before the failure stay).
    pub async fn save_all_attachments(
        &self,
        message_id: &str,
        folder: &Path,
    ) -> Result<Vec<SavedFile>> {
        let message = self.vault.message(message_id)?;
        let mut saved = Vec::new();
        for a in &message.summary.attachments {
            self.fetch_attachment(message_id, &a.id).await?;
            let (vault, id, folder) = (self.vault.clone(), a.id.clone(), folder.to_owned());
            let name = safe_file_name(&a.name);
            saved.push(
                blocking(move || {
                    let (path, file) = create_numbered(&folder, &name)?;
                    let bytes = write_out(&vault, &id, file)?;
                    Ok(SavedFile { path, bytes })
                })
                .await?,
            );
        }
        Ok(saved)
    }

    /// Copies an attachment into `opened` for another application to open, read-only, under
    /// its own name (made safe); returns the file's path.
    ///
    /// # Errors
    /// `NotFound` for an unknown message or attachment; download, disk and vault errors.
    pub async fn copy_for_opening(
        &self,
        message_id: &str,
        attachment_id: &str,
        opened: &OpenedFiles,
    ) -> Result<PathBuf> {
        let message = self.vault.message(message_id)?;
        let name = message
            .summary
            .attachments
            .iter()
            .find(|a| a.id == attachment_id)
            .map(|a| safe_file_name(&a.name))
            .ok_or(ClientError::NotFound("attachment"))?;
        self.fetch_attachment(message_id, attachment_id).await?;
        let folder = opened.fresh_folder(&self.account.id)?;
        let (vault, id) = (self.vault.clone(), attachment_id.to_owned());
        blocking(move || {
            let path = folder.join(&name);
            let file = private_file(&path)?;
            write_out(&vault, &id, file)?;
            // Read-only, so that an application warns before edits are made to a copy that
            // goes when the app locks.
            set_mode(&path, 0o400)?;
            Ok(path)
        })
        .await
    }
}

/// A file written by a save.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedFile {
    /// Where it was written.
    pub path: PathBuf,
    /// How many bytes.
    pub bytes: u64,
}

/// The private folder where attachments are copied to be opened in another application,
/// the only place their bytes leave the vault. The folder and each mailbox's folder in it
/// are the user's alone (mode 0700); one mailbox's copies are removed when it signs out,
/// all of them when the app locks or quits, and at the next start after a crash.
#[derive(Debug, Clone)]
pub struct OpenedFiles {
    root: PathBuf,
}

impl OpenedFiles {
    /// The folder `root`, made when first needed.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Where the copies live.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A new, empty folder for one copy of account `account`: each copy has its own, so a
    /// file keeps its real name whatever else is open.
    fn fresh_folder(&self, account: &str) -> Result<PathBuf> {
        private_dir(&self.root)?;
        let mine = self.root.join(safe_file_name(account));
        private_dir(&mine)?;
        let folder = mine.join(hex::encode(rand::random::<[u8; 8]>()));
        private_dir(&folder)?;
        Ok(folder)
    }

    /// Removes the copies of account `account`.
    ///
    /// # Errors
    /// When a copy cannot be removed (it stays; the next lock or start tries again).
    pub fn forget(&self, account: &str) -> Result<()> {
        remove_tree(&self.root.join(safe_file_name(account)))
    }

    /// Removes every copy.
    ///
    /// # Errors
    /// When a copy cannot be removed (it stays; the next lock or start tries again).
    pub fn forget_all(&self) -> Result<()> {
        remove_tree(&self.root)
    }
}

/// A name from a message as a file name: its last path part, without control characters
/// or characters Windows refuses, never `.`/`..`/empty (then `attachment`), at most 200
/// bytes (keeping the extension).
pub fn safe_file_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .map(|c| match c {
            c if c.is_control() => '_',
            '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c => c,
        })
        .collect();
    let cleaned = cleaned.trim().trim_end_matches('.').trim();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        return "attachment".to_owned();
    }
    if cleaned.len() <= 200 {
        return cleaned.to_owned();
    }
    let (stem, ext) = match cleaned.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= 16 => (stem, format!(".{ext}")),
        _ => (cleaned, String::new()),
    };
    let mut cut = 200 - ext.len();
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ext}", &stem[..cut])
}

/// Creates `name` in `folder`, or `name (2)`, `name (3)`... when it is taken.
pub(crate) fn create_numbered(folder: &Path, name: &str) -> Result<(PathBuf, fs::File)> {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
        _ => (name, String::new()),
    };
    for n in 1..10_000 {
        let candidate = match n {
            1 => name.to_owned(),
            n => format!("{stem} ({n}){ext}"),
        };
        let path = folder.join(candidate);
        match fs::File::options().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ClientError::Refused {
        code: Code::Invalid,
        message: format!("{} has too many files named {name}", folder.display()),
        refused: Vec::new(),
    })
}

/// Writes a cached attachment into `file`, chunk by chunk, and syncs it.
fn write_out(vault: &crate::vault::Vault, id: &str, mut file: fs::File) -> Result<u64> {
    let (mut seq, mut written) = (0u32, 0u64);
    while let Some(chunk) = vault.attachment_chunk(id, seq)? {
        file.write_all(&chunk)?;
        written += chunk.len() as u64;
        seq += 1;
    }
    file.sync_all()?;
    Ok(written)
}

/// Makes `dir` if needed and makes it the user's alone.
fn private_dir(dir: &Path) -> Result<()> {
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => {}
        Err(e) => return Err(e.into()),
    }
    set_mode(dir, 0o700)
}

/// A new file only the user can read and write.
fn private_file(path: &Path) -> Result<fs::File> {
    let mut options = fs::File::options();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    Ok(options.open(path)?)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    Ok(fs::set_permissions(path, fs::Permissions::from_mode(mode))?)
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<()> {
    // The folder is inside the user's profile, which only they can read.
    Ok(())
}

/// Removes a folder and everything in it; read-only files too. Nothing there is fine.
fn remove_tree(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_a_message_cannot_leave_the_folder_or_break_it() {
        let cases = [
            ("report.pdf", "report.pdf"),
            ("../../.bashrc", ".bashrc"),
            ("..\\..\\evil.exe", "evil.exe"),
            ("/etc/passwd", "passwd"),
            ("..", "attachment"),
            ("", "attachment"),
            ("   ", "attachment"),
            ("a\u{0}b\nc.txt", "a_b_c.txt"),
            ("what?.txt", "what_.txt"),
            ("Überweisung März.pdf", "Überweisung März.pdf"),
            ("trailing. ", "trailing"),
        ];
        for (given, want) in cases {
            assert_eq!(safe_file_name(given), want, "{given:?} as a file name");
        }
        let long = format!("{}.pdf", "é".repeat(300));
        let safe = safe_file_name(&long);
        assert!(
            safe.len() <= 200 && safe.ends_with(".pdf"),
            "a long name keeps its extension: {safe}"
        );
    }

    #[test]
    fn a_taken_name_gets_a_number_and_nothing_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), "kept").unwrap();
        let (first, _) = create_numbered(dir.path(), "a.txt").unwrap();
        let (second, _) = create_numbered(dir.path(), "a.txt").unwrap();
        assert_eq!(first.file_name().unwrap(), "a (2).txt");
        assert_eq!(second.file_name().unwrap(), "a (3).txt");
        assert_eq!(
            fs::read_to_string(dir.path().join("a.txt")).unwrap(),
            "kept",
            "the file there stays"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_opened_folder_is_private_and_goes_per_mailbox_or_whole() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let opened = OpenedFiles::new(dir.path().join("opened"));
        let a = opened.fresh_folder("acct-a").unwrap();
        let b = opened.fresh_folder("acct-b").unwrap();
        for d in [
            opened.root().to_owned(),
            a.clone(),
            a.parent().unwrap().to_owned(),
        ] {
            let mode = fs::metadata(&d).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{} is the user's alone", d.display());
        }
        let f = a.join("x.txt");
        drop(private_file(&f).unwrap());
        set_mode(&f, 0o400).unwrap();
        opened.forget("acct-a").unwrap();
        assert!(
            !a.exists(),
            "signing out removes that mailbox's copies, read-only ones too"
        );
        assert!(b.exists(), "and leaves another mailbox's");
        opened.forget_all().unwrap();
        assert!(
            !opened.root().exists(),
            "locking or quitting removes them all"
        );
        opened.forget_all().unwrap();
    }
}
