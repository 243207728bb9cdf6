//! Where the hub keeps its encrypted files: attachments, uploads not attached yet, and
//! emails to staff waiting to be sent. Every file is an age file sealed before it gets
//! here (`crypto`); this module only stores, lists and removes bytes, by name.
//!
//! Names are relative paths such as `ab/att_…age` (a two-character shard, then the id).
//! The data directory's `blobs/` folder is the only place so far; an object store would
//! give the same operations.

use std::{
    fs,
    io::{self, Read, Write},
    path::{Path, PathBuf},
    time::SystemTime,
};

use crate::config::{private_dir, private_file};

/// The encrypted-file store; cheap to clone.
#[derive(Debug, Clone)]
pub struct Blobs {
    root: PathBuf,
}

/// A stored file, as [`Blobs::list`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobEntry {
    /// Its name.
    pub name: String,
    /// Its length in bytes.
    pub bytes: u64,
    /// When it was last written.
    pub modified: SystemTime,
}

/// A file being written: [`BlobWriter::finish`] ends it. Dropped unfinished, the file is
/// left for the caller to remove ([`Blobs::remove`]) or the orphan sweep.
pub struct BlobWriter {
    file: fs::File,
    written: u64,
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl BlobWriter {
    /// Ends the file; returns its length. Not yet durable: see [`Blobs::make_durable`].
    pub fn finish(mut self) -> io::Result<u64> {
        self.file.flush()?;
        Ok(self.written)
    }
}

impl Blobs {
    /// The store in the folder `root` (the data directory's `blobs/`).
    pub fn folder(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// A name for a new file of the thing with id `id`: `<shard>/<id>.age`, the shard
    /// being the id's last two characters (reversed), so that no folder grows too large.
    pub fn name_for(id: &str) -> String {
        let shard: String = id.chars().rev().take(2).collect();
        format!("{shard}/{id}.age")
    }

    fn path(&self, name: &str) -> io::Result<PathBuf> {
        // Names come from the hub's own rows; a name that would leave the folder is a
        // fault, never followed.
        let relative = Path::new(name);
        if name.is_empty()
            || relative.is_absolute()
            || relative
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name:?} is not a blob name"),
            ));
        }
        Ok(self.root.join(relative))
    }

    /// Starts the new file `name` (owner-only; its shard folder is made if need be).
    ///
    /// # Errors
    /// `AlreadyExists` when the name is taken; other I/O errors.
    pub fn create(&self, name: &str) -> io::Result<BlobWriter> {
        let path = self.path(name)?;
        if let Some(folder) = path.parent() {
            private_dir(folder)?;
        }
        let file = private_file().write(true).create_new(true).open(path)?;
        Ok(BlobWriter { file, written: 0 })
    }

    /// Reads the file `name`.
    pub fn open(&self, name: &str) -> io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(io::BufReader::new(fs::File::open(
            self.path(name)?,
        )?)))
    }

    /// Makes the file `name` durable (flushed to disk) and returns its length: called
    /// before a row that refers to it commits, so that a crash cannot leave a row
    /// pointing at lost bytes.
    pub fn make_durable(&self, name: &str) -> io::Result<u64> {
        let file = fs::File::open(self.path(name)?)?;
        file.sync_data()?;
        Ok(file.metadata()?.len())
    }

    /// Whether the file `name` is there.
    pub fn exists(&self, name: &str) -> bool {
        self.path(name).is_ok_and(|p| p.exists())
    }

    /// Removes the file `name`; one already gone is no error.
    pub fn remove(&self, name: &str) -> io::Result<()> {
        match fs::remove_file(self.path(name)?) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Copies the file `from` to the new file `to`; returns the bytes copied.
    pub fn copy(&self, from: &str, to: &str) -> io::Result<u64> {
        let mut source = self.open(from)?;
        let mut target = self.create(to)?;
        let copied = io::copy(&mut source, &mut target);
        match copied.and_then(|_| target.finish()) {
            Ok(n) => Ok(n),
            Err(e) => {
                let _ = self.remove(to);
                Err(e)
            }
        }
    }

    /// Every stored file (for the orphan sweep and `admin check`).
    pub fn list(&self) -> io::Result<Vec<BlobEntry>> {
        let mut out = Vec::new();
        let mut folders = vec![self.root.clone()];
        while let Some(folder) = folders.pop() {
            let entries = match fs::read_dir(&folder) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for entry in entries {
                let entry = entry?;
                let meta = match entry.metadata() {
                    Ok(meta) => meta,
                    // Removed meanwhile (a send finished, a purge ran).
                    Err(_) => continue,
                };
                if meta.is_dir() {
                    folders.push(entry.path());
                    continue;
                }
                let relative = entry.path();
                let relative = relative.strip_prefix(&self.root).unwrap_or(&relative);
                out.push(BlobEntry {
                    name: relative.to_string_lossy().replace('\\', "/"),
                    bytes: meta.len(),
                    modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                });
            }
        }
        Ok(out)
    }

    /// Proves the store takes a new file: writes and removes an empty one named `probe`.
    ///
    /// # Errors
    /// The I/O error that stopped it (a folder gone, read-only or full).
    pub fn probe(&self, probe: &str) -> io::Result<()> {
        let path = self.root.join(probe);
        private_file().write(true).create_new(true).open(&path)?;
        fs::remove_file(&path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_written_listed_copied_and_removed_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::folder(dir.path().join("blobs"));
        let name = Blobs::name_for("att_0123ab");
        assert_eq!(name, "ba/att_0123ab.age");
        let mut w = blobs.create(&name).unwrap();
        w.write_all(b"sealed bytes").unwrap();
        assert_eq!(w.finish().unwrap(), 12);
        assert!(blobs.create(&name).is_err(), "a name is written once");
        assert_eq!(blobs.make_durable(&name).unwrap(), 12);
        assert_eq!(blobs.copy(&name, "cd/copy.age").unwrap(), 12);
        let mut names: Vec<String> = blobs.list().unwrap().into_iter().map(|e| e.name).collect();
        names.sort();
        assert_eq!(names, ["ba/att_0123ab.age", "cd/copy.age"]);
        let mut back = Vec::new();
        blobs
            .open("cd/copy.age")
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, b"sealed bytes");
        blobs.remove(&name).unwrap();
        blobs.remove(&name).expect("removing twice is fine");
        assert!(!blobs.exists(&name));
    }

    #[test]
    fn a_name_that_would_leave_the_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::folder(dir.path());
        for name in ["../hub.db", "/etc/passwd", "", "ab/../../x"] {
            assert!(blobs.open(name).is_err(), "{name:?}");
            assert!(blobs.create(name).is_err(), "{name:?}");
            assert!(blobs.remove(name).is_err(), "{name:?}");
        }
    }
}
