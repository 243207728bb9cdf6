//! Blobs in an S3 bucket, through the `object_store` crate: path-style requests for
//! S3-compatible stores (Garage, MinIO, Ceph), a region to sign for, credentials from
//! `hub.toml` or the environment. Writes of more than one part are multipart uploads,
//! at most [`IN_FLIGHT`] parts of [`PART`] bytes held at once: memory stays bounded
//! whatever the file's size.

use std::{
    collections::VecDeque,
    io::{self, Read},
    sync::Arc,
    time::SystemTime,
};

use bytes::Bytes;
use futures_util::{stream::BoxStream, StreamExt};
use object_store::{
    aws::{AmazonS3, AmazonS3Builder},
    path::Path as Key,
    MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload,
};
use serde::{Deserialize, Serialize};

use super::BlobEntry;
use crate::runtime::OwnRuntime;

/// The size of each part of a multipart upload (S3 wants 5 MiB or more but the last).
const PART: usize = 8 << 20;

/// Parts being uploaded at once, beyond the one being filled.
const IN_FLIGHT: usize = 2;

/// The environment variables that override the credentials in `hub.toml`.
pub const ACCESS_KEY_ENV: &str = "SEALPOST_S3_ACCESS_KEY_ID";
/// See [`ACCESS_KEY_ENV`].
pub const SECRET_KEY_ENV: &str = "SEALPOST_S3_SECRET_ACCESS_KEY";

/// `[blobs]` in `hub.toml`: an S3 bucket instead of the `blobs/` folder.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BucketConfig {
    /// `s3://BUCKET`, or `s3://BUCKET/PREFIX` to keep the hub's objects under a prefix.
    pub url: String,
    /// The store's address (`https://s3.example.net`, `http://127.0.0.1:3900`); leave it
    /// out for AWS itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The region requests are signed for (Garage's default is `garage`).
    #[serde(default = "default_region")]
    pub region: String,
    /// The access key's id (`SEALPOST_S3_ACCESS_KEY_ID` overrides it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// The access key's secret (`SEALPOST_S3_SECRET_ACCESS_KEY` overrides it; better
    /// there than in this file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<String>,
    /// Path-style requests (`endpoint/bucket/key`), which most S3-compatible stores
    /// want; virtual-hosted ones (`bucket.endpoint/key`) when false. Default: path-style
    /// with an `endpoint`, virtual-hosted without (AWS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_style: Option<bool>,
}

impl BucketConfig {
    /// The bucket at `url`, as the command line names it; its key comes from the
    /// environment when the bucket is opened.
    pub fn named(url: String, endpoint: Option<String>, region: String) -> Self {
        Self {
            url,
            endpoint,
            region,
            access_key_id: None,
            secret_access_key: None,
            path_style: None,
        }
    }
}

fn default_region() -> String {
    "us-east-1".into()
}

/// A bucket (and prefix) on its own runtime.
pub(super) struct Bucket {
    store: Arc<AmazonS3>,
    prefix: String,
    rt: Arc<OwnRuntime>,
}

fn io_error(e: object_store::Error) -> io::Error {
    match e {
        object_store::Error::NotFound { .. } => {
            io::Error::new(io::ErrorKind::NotFound, s3_text(&e.to_string()))
        }
        other => io::Error::other(s3_text(&other.to_string())),
    }
}

/// An S3 error said in a sentence: the server's `<Code>` and `<Message>` (from its XML
/// body, S3 API Reference "Error responses") with what to check, in place of the body.
fn s3_text(raw: &str) -> String {
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = raw.find(&open)? + open.len();
        let end = raw[start..].find(&format!("</{name}>"))?;
        Some(raw[start..start + end].to_owned())
    };
    let Some(code) = tag("Code") else {
        return raw.to_owned();
    };
    let message = tag("Message")
        .map(|m| {
            let m = m
                .replace("&apos;", "'")
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&");
            format!(": {m}")
        })
        .unwrap_or_default();
    let check = match code.as_str() {
        "NoSuchBucket" => {
            "; the bucket does not exist: create it, or fix the bucket in [blobs] url"
        }
        "AuthorizationHeaderMalformed" => {
            "; the region does not match the server's: set [blobs] region (--blobs-region)"
        }
        "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "InvalidSignature" => {
            "; check the access key id and secret"
        }
        "AccessDenied" if message.to_ascii_lowercase().contains("signature") => {
            "; check the access key id and secret"
        }
        "AccessDenied" => "; the access key may not use this bucket: grant it read and write",
        _ => "",
    };
    format!("the S3 server answered {code}{message}{check}")
}

impl Bucket {
    pub(super) fn new(config: &BucketConfig) -> Result<Self, String> {
        let rest = config
            .url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("[blobs] url must start with s3:// (found {:?})", config.url))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(
                "[blobs] url names no bucket: write s3://BUCKET or s3://BUCKET/PREFIX".into(),
            );
        }
        let prefix = prefix.trim_matches('/');
        let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let key_id = from_env(ACCESS_KEY_ENV).or_else(|| config.access_key_id.clone());
        let secret = from_env(SECRET_KEY_ENV).or_else(|| config.secret_access_key.clone());
        let (Some(key_id), Some(secret)) = (key_id, secret) else {
            return Err(format!(
                "[blobs] needs an access key: access_key_id and secret_access_key in hub.toml, \
                 or {ACCESS_KEY_ENV} and {SECRET_KEY_ENV}"
            ));
        };
        let mut builder = AmazonS3Builder::new()
            // A download streams at the reader's pace: no limit on a whole request, only
            // on connecting and on a minute with nothing read (a stalled server or a
            // dropped connection ends the request instead of holding a thread for ever).
            // (Set first: these options replace the client's, `allow_http` below included.)
            .with_client_options(
                object_store::ClientOptions::new()
                    .with_timeout_disabled()
                    .with_connect_timeout(std::time::Duration::from_secs(10))
                    .with_read_timeout(std::time::Duration::from_secs(60))
                    .with_pool_idle_timeout(std::time::Duration::from_secs(60)),
            )
            .with_bucket_name(bucket)
            .with_region(&config.region)
            .with_access_key_id(key_id)
            .with_secret_access_key(secret)
            .with_virtual_hosted_style_request(
                !config.path_style.unwrap_or(config.endpoint.is_some()),
            );
        if let Some(endpoint) = &config.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder
            .build()
            .map_err(|e| format!("[blobs] is not a usable bucket: {e}"))?;
        let rt = OwnRuntime::new("sealpost-blobs")
            .map_err(|e| format!("the bucket's runtime could not start: {e}"))?;
        Ok(Self {
            store: Arc::new(store),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
            rt: Arc::new(rt),
        })
    }

    fn key(&self, name: &str) -> Key {
        Key::from(format!("{}{name}", self.prefix))
    }

    pub(super) fn create(&self, name: &str) -> ObjectWriter {
        ObjectWriter {
            store: self.store.clone(),
            rt: self.rt.clone(),
            key: self.key(name),
            buf: Vec::new(),
            upload: None,
            in_flight: VecDeque::new(),
        }
    }

    pub(super) fn open(&self, name: &str) -> io::Result<ObjectReader> {
        let (store, key) = (self.store.clone(), self.key(name));
        let got = self
            .rt
            .wait(async move { store.get(&key).await.map(|r| r.into_stream()) })
            .map_err(io_error)?;
        Ok(ObjectReader {
            stream: Some(got),
            chunk: Bytes::new(),
            rt: self.rt.clone(),
        })
    }

    pub(super) fn len(&self, name: &str) -> io::Result<u64> {
        let (store, key) = (self.store.clone(), self.key(name));
        self.rt
            .wait(async move { store.head(&key).await })
            .map(|meta| meta.size)
            .map_err(io_error)
    }

    pub(super) fn remove(&self, name: &str) -> io::Result<()> {
        let (store, key) = (self.store.clone(), self.key(name));
        match self.rt.wait(async move { delete(&store, &key).await }) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(io_error(e)),
        }
    }

    pub(super) fn copy(&self, from: &str, to: &str) -> io::Result<u64> {
        let (store, from, to) = (self.store.clone(), self.key(from), self.key(to));
        self.rt
            .wait(async move {
                store.copy(&from, &to).await?;
                store.head(&to).await
            })
            .map(|meta| meta.size)
            .map_err(io_error)
    }

    pub(super) fn list(&self) -> io::Result<Vec<BlobEntry>> {
        let store = self.store.clone();
        let prefix =
            (!self.prefix.is_empty()).then(|| Key::from(self.prefix.trim_end_matches('/')));
        let strip = self.prefix.clone();
        self.rt
            .wait(async move {
                let mut out = Vec::new();
                let mut listing = store.list(prefix.as_ref());
                while let Some(meta) = listing.next().await {
                    let meta = meta?;
                    let name = meta.location.to_string();
                    out.push(BlobEntry {
                        name: name.strip_prefix(&strip).unwrap_or(&name).to_owned(),
                        bytes: meta.size,
                        modified: SystemTime::from(meta.last_modified),
                    });
                }
                Ok(out)
            })
            .map_err(io_error)
    }

    /// The name of the first object under the prefix, if any.
    pub(super) fn any(&self) -> io::Result<Option<String>> {
        let store = self.store.clone();
        let prefix =
            (!self.prefix.is_empty()).then(|| Key::from(self.prefix.trim_end_matches('/')));
        let strip = self.prefix.clone();
        self.rt
            .wait(async move {
                let first = store.list(prefix.as_ref()).next().await.transpose()?;
                Ok(first.map(|meta| {
                    let name = meta.location.to_string();
                    name.strip_prefix(&strip).unwrap_or(&name).to_owned()
                }))
            })
            .map_err(io_error)
    }

    pub(super) fn probe(&self, name: &str) -> io::Result<()> {
        let (store, key) = (self.store.clone(), self.key(name));
        self.rt
            .wait(async move {
                store.put(&key, PutPayload::from_static(b"")).await?;
                delete(&store, &key).await
            })
            .map_err(io_error)
    }
}

/// Deletes `key`. S3 answers a delete's per-key failure (a busy server's
/// ServiceUnavailable) inside a successful response, which object_store does not retry:
/// tried up to three times, a little apart.
async fn delete(store: &AmazonS3, key: &Key) -> object_store::Result<()> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match store.delete(key).await {
            Err(e) if attempt < 3 && !matches!(e, object_store::Error::NotFound { .. }) => {
                tracing::debug!(error = %e, "a bucket delete failed; trying again");
                tokio::time::sleep(std::time::Duration::from_millis(200 * attempt)).await;
            }
            outcome => return outcome,
        }
    }
}

/// An object being written: one request when it is small, a multipart upload once it
/// passes [`PART`] bytes.
pub(super) struct ObjectWriter {
    store: Arc<AmazonS3>,
    rt: Arc<OwnRuntime>,
    key: Key,
    buf: Vec<u8>,
    upload: Option<Box<dyn MultipartUpload>>,
    in_flight: VecDeque<std::sync::mpsc::Receiver<object_store::Result<()>>>,
}

impl ObjectWriter {
    pub(super) fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = PART - self.buf.len();
        let n = data.len().min(room);
        // Grown as bytes come (doubling, up to a part): a small file holds little.
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == PART {
            self.send_part()?;
        }
        Ok(n)
    }

    fn send_part(&mut self) -> io::Result<()> {
        if self.upload.is_none() {
            let (store, key) = (self.store.clone(), self.key.clone());
            let upload = self
                .rt
                .wait(async move { store.put_multipart(&key).await })
                .map_err(io_error)?;
            self.upload = Some(upload);
        }
        // Bounded memory: wait for the oldest part before a new one goes out.
        while self.in_flight.len() >= IN_FLIGHT {
            self.wait_oldest()?;
        }
        let part = PutPayload::from(Bytes::from(std::mem::take(&mut self.buf)));
        let sending = self
            .upload
            .as_mut()
            .expect("BUG: the upload was just started")
            .put_part(part);
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.rt.handle().spawn(async move {
            let _ = tx.send(sending.await);
        });
        self.in_flight.push_back(rx);
        Ok(())
    }

    fn wait_oldest(&mut self) -> io::Result<()> {
        if let Some(rx) = self.in_flight.pop_front() {
            rx.recv()
                .unwrap_or_else(|_| {
                    Err(object_store::Error::Generic {
                        store: "S3",
                        source: "a part's upload ended without an answer".into(),
                    })
                })
                .map_err(io_error)?;
        }
        Ok(())
    }

    pub(super) fn finish(mut self) -> io::Result<()> {
        if self.upload.is_none() {
            // Small: one request.
            let (store, key) = (self.store.clone(), self.key.clone());
            let body = PutPayload::from(Bytes::from(std::mem::take(&mut self.buf)));
            return self
                .rt
                .wait(async move { store.put(&key, body).await })
                .map(|_| ())
                .map_err(io_error);
        }
        if !self.buf.is_empty() {
            self.send_part()?;
        }
        while !self.in_flight.is_empty() {
            self.wait_oldest()?;
        }
        let mut upload = self.upload.take().expect("BUG: checked above");
        self.rt
            .wait(async move {
                let done = upload.complete().await;
                if done.is_err() {
                    // Its parts are not kept (and billed) for ever.
                    let _ = upload.abort().await;
                }
                done
            })
            .map(|_| ())
            .map_err(io_error)
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        // Unfinished (an error, an upload cut short): the parts sent so far are dropped
        // by the store, not kept (and billed) for ever.
        if let Some(mut upload) = self.upload.take() {
            self.rt.handle().spawn(async move {
                let _ = upload.abort().await;
            });
        }
    }
}

/// An object being read, a chunk at a time as the store sends it.
pub(super) struct ObjectReader {
    stream: Option<BoxStream<'static, object_store::Result<Bytes>>>,
    chunk: Bytes,
    rt: Arc<OwnRuntime>,
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            let Some(mut stream) = self.stream.take() else {
                return Ok(0);
            };
            let (next, stream) = self.rt.wait(async move { (stream.next().await, stream) });
            match next {
                Some(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.stream = Some(stream);
                }
                Some(Err(e)) => return Err(io_error(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk = self.chunk.slice(n..);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_errors_are_said_with_their_code_and_what_to_check() {
        let raw = "Generic S3 error: Error performing PUT http://127.0.0.1:3900/nope/x in 1ms - \
                   Server returned non-2xx status code: 404 Not Found: <?xml version=\"1.0\"?>\
                   <Error><Code>NoSuchBucket</Code><Message>Bucket not found: nope</Message>\
                   <Resource>/nope/x</Resource></Error>";
        assert_eq!(
            s3_text(raw),
            "the S3 server answered NoSuchBucket: Bucket not found: nope; the bucket does not \
             exist: create it, or fix the bucket in [blobs] url"
        );
        assert_eq!(s3_text("connection refused"), "connection refused");
        let signature = "Generic S3 error: ... 403 Forbidden: <Error><Code>AccessDenied</Code>\
                         <Message>Forbidden: Invalid signature</Message></Error>";
        assert!(s3_text(signature).ends_with("check the access key id and secret"));
        let region = "<Error><Code>AuthorizationHeaderMalformed</Code><Message>expected \
                      &apos;garage&apos;</Message></Error>";
        assert!(
            s3_text(region).contains("expected 'garage'"),
            "{}",
            s3_text(region)
        );
    }
}
