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

    /// Makes sure every attachment of a message is in the vault (see
    /// [`Mailbox::fetch_attachment`]).
    ///
    /// # Errors
    /// `NotFound` for an unknown message; download and vault errors.
    pub async fn fetch_attachments(&self, message_id: &str) -> Result<()> {
        let message = self.vault.message(message_id)?;
        for a in &message.summary.attachments {
            self.fetch_attachment(message_id, &a.id).await?;
        }
        Ok(())
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
            let written = write_out(&vault, &id, file)?;
            mark_from_internet(&to);
            Ok(written)
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
                    mark_from_internet(&path);
                    Ok(SavedFile { path, bytes })
                })
                .await?,
            );
        }
        Ok(saved)
    }

    /// Copies an attachment into `opened` for another application to open, read-only, under
    /// its own name (made safe); returns the file's path. On Windows the copy is marked as
    /// come from the internet (zone 3), so the system and Office treat it with care.
    ///
    /// # Errors
    /// `Refused` (`Invalid`) for a program or script ([`runs_code`]); `NotFound` for an
    /// unknown message or attachment; download, disk and vault errors.
    pub async fn copy_for_opening(
        &self,
        message_id: &str,
        attachment_id: &str,
        opened: &OpenedFiles,
    ) -> Result<PathBuf> {
        let name = self.attachment_file_name(message_id, attachment_id)?;
        if runs_code(&name) {
            return Err(ClientError::Refused {
                code: Code::Invalid,
                message: format!(
                    "Sealpost does not open {name}: a file of this kind can run a program on \
                     this computer. Save it, and open it yourself only if you trust the sender \
                     and expected it."
                ),
                refused: Vec::new(),
            });
        }
        self.fetch_attachment(message_id, attachment_id).await?;
        // Read-only, so that an application warns before edits are made to a copy that
        // goes when the app locks.
        self.copy_out(attachment_id, name, opened, 0o400).await
    }

    /// Copies an attachment already in the vault into `opened`, to be dragged to a folder
    /// (which is saving it: any kind of file). Dragging cannot wait for a download (the
    /// button would be let go): one not yet here starts downloading and is refused.
    ///
    /// # Errors
    /// `Refused` (`Invalid`) while the attachment is not yet downloaded; `NotFound`; disk and
    /// vault errors.
    pub async fn copy_for_dragging(
        &self,
        message_id: &str,
        attachment_id: &str,
        opened: &OpenedFiles,
    ) -> Result<PathBuf> {
        let name = self.attachment_file_name(message_id, attachment_id)?;
        if !self.vault.attachment_cached(attachment_id)? {
            return Err(ClientError::Refused {
                code: Code::Invalid,
                message: format!(
                    "{name} is not on this computer yet; it is being downloaded. Drag it again \
                     in a moment, or use Save."
                ),
                refused: Vec::new(),
            });
        }
        // The user's to change: where it is dropped it is their file (a file manager's copy
        // keeps the mode).
        self.copy_out(attachment_id, name, opened, 0o600).await
    }

    fn attachment_file_name(&self, message_id: &str, attachment_id: &str) -> Result<String> {
        self.vault
            .message(message_id)?
            .summary
            .attachments
            .iter()
            .find(|a| a.id == attachment_id)
            .map(|a| safe_file_name(&a.name))
            .ok_or(ClientError::NotFound("attachment"))
    }

    async fn copy_out(
        &self,
        attachment_id: &str,
        name: String,
        opened: &OpenedFiles,
        mode: u32,
    ) -> Result<PathBuf> {
        let folder = opened.fresh_folder(&self.account.id)?;
        let (vault, id) = (self.vault.clone(), attachment_id.to_owned());
        blocking(move || {
            let path = folder.join(&name);
            let file = private_file(&path)?;
            write_out(&vault, &id, file)?;
            mark_from_internet(&path);
            set_mode(&path, mode)?;
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

/// A name from a message as a file name: its last path part (the hub's
/// `clean_file_name`: no control characters, none that reorder or hide text, no leading
/// dot), without characters Windows refuses, never a Windows device name (`CON`, `NUL.txt`
/// become `_CON`, `_NUL.txt`), never empty (then `attachment`), at most 200 bytes (keeping
/// the extension).
pub fn safe_file_name(name: &str) -> String {
    // Shortened first, keeping the extension (the hub's cleaning cuts at 200 characters,
    // extension and all).
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = sealpost_proto::text::clean_file_name(&shorten(last, 200))
        .chars()
        .map(|c| match c {
            '<' | '>' | ':' | '"' | '|' | '?' | '*' => '_',
            c => c,
        })
        .collect();
    let cleaned = cleaned
        .trim()
        .trim_end_matches(['.', ' '])
        .trim_start_matches('.');
    if cleaned.is_empty() {
        return "attachment".to_owned();
    }
    let stem_upper = cleaned
        .split('.')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_uppercase();
    let reserved = matches!(stem_upper.as_str(), "CON" | "PRN" | "AUX" | "NUL")
        || (stem_upper.len() == 4
            && (stem_upper.starts_with("COM") || stem_upper.starts_with("LPT"))
            && stem_upper.as_bytes()[3].is_ascii_digit());
    let cleaned = if reserved {
        format!("_{cleaned}")
    } else {
        cleaned.to_owned()
    };
    shorten(&cleaned, 200)
}

/// `name` in at most `max` bytes, the extension (up to 16 bytes) kept whole.
fn shorten(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= 16 => (stem, format!(".{ext}")),
        _ => (name, String::new()),
    };
    let mut cut = max - ext.len();
    while !stem.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{ext}", &stem[..cut])
}

/// A file name for a record of a message (`.eml`, `.pdf`): its subject, whose slashes
/// become dashes ("Minutes 01/02" is `Minutes 01-02.eml`), made safe; `message` when it has
/// none.
pub fn record_file_name(subject: &str, extension: &str) -> String {
    let subject = subject.replace(['/', '\\'], "-").replace(':', " -");
    let stem = match subject.trim() {
        "" => "message".to_owned(),
        s => safe_file_name(s),
    };
    format!("{stem}.{extension}")
}

/// Whether opening a file of this name could run a program rather than show a document
/// (programs, scripts, shortcuts and installers, after the lists Windows and browsers keep
/// of dangerous types). Such a file is saved, never opened from Sealpost.
pub fn runs_code(name: &str) -> bool {
    const KINDS: &[&str] = &[
        "exe",
        "com",
        "scr",
        "pif",
        "cpl",
        "msi",
        "msp",
        "mst",
        "msc",
        "bat",
        "cmd",
        "ps1",
        "psm1",
        "psd1",
        "ps1xml",
        "vbs",
        "vbe",
        "js",
        "jse",
        "wsf",
        "wsh",
        "wsc",
        "hta",
        "lnk",
        "url",
        "scf",
        "reg",
        "inf",
        "jar",
        "gadget",
        "application",
        "appref-ms",
        "sh",
        "bash",
        "zsh",
        "csh",
        "run",
        "bin",
        "desktop",
        "appimage",
        "deb",
        "rpm",
        "pkg",
        "dmg",
        "app",
        "command",
        "workflow",
        "py",
        "pyw",
        "pl",
        "rb",
        "php",
        "dll",
        "sys",
        "drv",
        "ocx",
        "iso",
        "img",
        "vhd",
        "vhdx",
        "xll",
        "xlam",
        "ppam",
        "docm",
        "dotm",
        "xlsm",
        "xltm",
        "pptm",
        "potm",
        "ppsm",
        "sldm",
    ];
    name.rsplit_once('.')
        .map(|(_, ext)| ext.trim().to_ascii_lowercase())
        .is_some_and(|ext| KINDS.contains(&ext.as_str()))
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

/// Windows: the Mark of the Web (an NTFS `Zone.Identifier` stream, zone 3 = internet), which
/// SmartScreen and Office's Protected View act on. Best effort: a file system without
/// streams keeps the file unmarked.
#[cfg(windows)]
fn mark_from_internet(path: &Path) {
    let mut stream = path.as_os_str().to_owned();
    stream.push(":Zone.Identifier");
    let _ = fs::write(stream, "[ZoneTransfer]\r\nZoneId=3\r\n");
}

#[cfg(not(windows))]
fn mark_from_internet(_path: &Path) {}

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
            ("../../.bashrc", "bashrc"),
            ("invoice\u{202E}fdp.exe", "invoicefdp.exe"),
            ("CON", "_CON"),
            ("nul.txt", "_nul.txt"),
            ("COM1.log", "_COM1.log"),
            ("COMPANY.txt", "COMPANY.txt"),
            ("..\\..\\evil.exe", "evil.exe"),
            ("/etc/passwd", "passwd"),
            ("..", "attachment"),
            ("", "attachment"),
            ("   ", "attachment"),
            ("a\u{0}b\nc.txt", "abc.txt"),
            ("what?.txt", "what_.txt"),
            ("Überweisung März.pdf", "Überweisung März.pdf"),
            ("trailing. ", "trailing"),
        ];
        for (given, want) in cases {
            assert_eq!(safe_file_name(given), want, "{given:?} as a file name");
        }
        assert_eq!(
            record_file_name("Minutes 01/02/2025", "eml"),
            "Minutes 01-02-2025.eml"
        );
        assert_eq!(record_file_name("Fwd: budget", "eml"), "Fwd - budget.eml");
        assert_eq!(record_file_name("  ", "pdf"), "message.pdf");
        assert!(runs_code("setup.EXE") && runs_code("notes.txt.lnk") && runs_code("a.docm"));
        assert!(!runs_code("letter.pdf") && !runs_code("photo.jpeg") && !runs_code("README"));
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
