//! Where the hub keeps its encrypted files: attachments, uploads not attached yet, and
//! emails to staff waiting to be sent. Every file is an age file sealed before it gets
//! here (`crypto`); this module only stores, lists and removes bytes, by name.
//!
//! Names are relative paths such as `ab/att_…age` (a two-character shard, then the id).
//! They live in the data directory's `blobs/` folder (the default), or in an S3 bucket
//! (any S3-compatible store, through the `object_store` crate) shared by every hub
//! process, so that an upload made through one replica can be attached through another.
//!
//! The operations are blocking, as file operations are: the hub calls them from blocking
//! threads. The bucket's requests run on a small runtime of its own.

use std::{
    fs,
    io::{self, Read, Write},
    path::{Path, PathBuf},
    sync::Arc,
    time::SystemTime,
};

use crate::config::{private_dir, private_file};

mod bucket;

pub use bucket::BucketConfig;

/// The encrypted-file store; cheap to clone.
#[derive(Clone)]
pub struct Blobs(Place);

#[derive(Clone)]
enum Place {
    Folder(PathBuf),
    Bucket(Arc<bucket::Bucket>),
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

/// A file being written: [`BlobWriter::finish`] ends it. Dropped unfinished, a file is
/// left for the caller to remove ([`Blobs::remove`]) or the orphan sweep; an object is
/// never made.
pub struct BlobWriter {
    to: Writing,
    written: u64,
}

enum Writing {
    File(fs::File),
    Object(bucket::ObjectWriter),
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match &mut self.to {
            Writing::File(f) => f.write(buf)?,
            Writing::Object(o) => o.write(buf)?,
        };
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.to {
            Writing::File(f) => f.flush(),
            Writing::Object(_) => Ok(()),
        }
    }
}

impl BlobWriter {
    /// Ends the file; returns its length. A file is not yet durable (see
    /// [`Blobs::make_durable`]); an object is stored once this returns.
    pub fn finish(self) -> io::Result<u64> {
        match self.to {
            Writing::File(mut f) => f.flush()?,
            Writing::Object(o) => o.finish()?,
        }
        Ok(self.written)
    }
}

impl Blobs {
    /// The store in the folder `root` (the data directory's `blobs/`).
    pub fn folder(root: impl Into<PathBuf>) -> Self {
        Self(Place::Folder(root.into()))
    }

    /// The store in an S3 bucket.
    ///
    /// # Errors
    /// The configuration is incomplete or not valid (says which part).
    pub fn bucket(config: &BucketConfig) -> Result<Self, String> {
        Ok(Self(Place::Bucket(Arc::new(bucket::Bucket::new(config)?))))
    }

    /// Whether the files are in a bucket that several hub processes may share.
    pub fn is_shared(&self) -> bool {
        matches!(self.0, Place::Bucket(_))
    }

    /// A name for a new file of the thing with id `id`: `<shard>/<id>.age`, the shard
    /// being the id's last two characters (reversed), so that no folder grows too large.
    pub fn name_for(id: &str) -> String {
        let shard: String = id.chars().rev().take(2).collect();
        format!("{shard}/{id}.age")
    }

    /// Whether `name` is shaped as the hub names files (`<shard>/<kind>_<id>.age`, see
    /// [`Blobs::name_for`]; a re-sealed file keeps its original's shard): the only files the hub ever removes as unreferenced, so
    /// that files of another hub sharing the bucket, or under a prefix inside this one's,
    /// are never touched.
    pub fn is_hub_name(name: &str) -> bool {
        let Some((shard, file)) = name.split_once('/') else {
            return false;
        };
        let Some(id) = file.strip_suffix(".age") else {
            return false;
        };
        let Some((kind, random)) = id.split_once('_') else {
            return false;
        };
        let id_char = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        !kind.is_empty()
            && kind.chars().all(|c| c.is_ascii_lowercase())
            && !random.is_empty()
            && random.chars().all(id_char)
            && shard.len() == 2
            && shard.chars().all(id_char)
    }

    /// The name of some file held, if any (to tell an empty bucket or folder).
    ///
    /// # Errors
    /// The folder or bucket cannot be listed.
    pub fn any_file(&self) -> io::Result<Option<String>> {
        match &self.0 {
            Place::Bucket(b) => b.any(),
            Place::Folder(_) => Ok(self.list()?.into_iter().next().map(|e| e.name)),
        }
    }

    fn path(root: &Path, name: &str) -> io::Result<PathBuf> {
        Ok(root.join(checked(name)?))
    }

    /// Starts the new file `name` (owner-only; its shard folder is made if need be).
    ///
    /// # Errors
    /// `AlreadyExists` when the name is taken; other I/O errors.
    pub fn create(&self, name: &str) -> io::Result<BlobWriter> {
        let to = match &self.0 {
            Place::Folder(root) => {
                let path = Self::path(root, name)?;
                if let Some(folder) = path.parent() {
                    private_dir(folder)?;
                }
                Writing::File(private_file().write(true).create_new(true).open(path)?)
            }
            Place::Bucket(b) => Writing::Object(b.create(checked(name)?)),
        };
        Ok(BlobWriter { to, written: 0 })
    }

    /// Reads the file `name`.
    pub fn open(&self, name: &str) -> io::Result<Box<dyn Read + Send>> {
        match &self.0 {
            Place::Folder(root) => Ok(Box::new(io::BufReader::new(fs::File::open(Self::path(
                root, name,
            )?)?))),
            Place::Bucket(b) => Ok(Box::new(b.open(checked(name)?)?)),
        }
    }

    /// Makes the file `name` durable (flushed to disk) and returns its length: called
    /// before a row that refers to it commits, so that a crash cannot leave a row
    /// pointing at lost bytes.
    pub fn make_durable(&self, name: &str) -> io::Result<u64> {
        match &self.0 {
            Place::Folder(root) => {
                let file = fs::File::open(Self::path(root, name)?)?;
                file.sync_data()?;
                Ok(file.metadata()?.len())
            }
            // An object is durable once its upload was answered: its length is the check.
            Place::Bucket(b) => b.len(checked(name)?),
        }
    }

    /// Whether the file `name` is there. An error is not an answer (a bucket that does
    /// not answer says nothing of its files).
    pub fn exists(&self, name: &str) -> io::Result<bool> {
        let found = match &self.0 {
            Place::Folder(root) => fs::metadata(Self::path(root, name)?).map(|_| ()),
            Place::Bucket(b) => b.len(checked(name)?).map(|_| ()),
        };
        match found {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Removes the file `name`; one already gone is no error.
    pub fn remove(&self, name: &str) -> io::Result<()> {
        match &self.0 {
            Place::Folder(root) => match fs::remove_file(Self::path(root, name)?) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
            Place::Bucket(b) => b.remove(checked(name)?),
        }
    }

    /// Copies the file `from` to the new file `to`; returns the bytes copied.
    pub fn copy(&self, from: &str, to: &str) -> io::Result<u64> {
        if let Place::Bucket(b) = &self.0 {
            // Copied inside the store, not through this process.
            return b.copy(checked(from)?, checked(to)?);
        }
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
        let root = match &self.0 {
            Place::Folder(root) => root,
            Place::Bucket(b) => return b.list(),
        };
        let mut out = Vec::new();
        let mut folders = vec![root.clone()];
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
                let relative = relative.strip_prefix(root).unwrap_or(&relative);
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
        match &self.0 {
            Place::Folder(root) => {
                let path = root.join(probe);
                private_file().write(true).create_new(true).open(&path)?;
                fs::remove_file(&path)
            }
            Place::Bucket(b) => b.probe(checked(probe)?),
        }
    }
}

/// `name`, if it is a blob name: relative, with no `..`, nothing empty. Names come from
/// the hub's own rows; one that would leave the store's folder or prefix is a fault,
/// never followed.
fn checked(name: &str) -> io::Result<&str> {
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
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_hubs_own_names_count_as_its_files() {
        for id in [
            "att_mFH1y6WNpikrrN1-",
            "upl_0123ab",
            "mail_x_y-z9",
            "rek_AbCd",
        ] {
            assert!(Blobs::is_hub_name(&Blobs::name_for(id)), "{id}");
        }
        for name in [
            "orgb/1-/att_mFH1y6WNpikrrN1-.age",
            "ba/att_0123ab.txt",
            ".ready-abc",
            ".init-x",
            "backup.tar",
            "ba/ATT_0123ab.age",
            "ba/_0123ab.age",
        ] {
            assert!(!Blobs::is_hub_name(name), "{name}");
        }
    }

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
        assert!(!blobs.exists(&name).unwrap());
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
