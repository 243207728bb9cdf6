//! An email with attachments as a stream: the head (headers and text part, formatted by
//! lettre, which encodes them), then each attachment base64-encoded as its bytes are read,
//! then the closing boundary. Memory holds a chunk at a time, whatever the attachments.

use std::io::{self, Cursor, Read};

use lettre::message::header::{ContentDisposition, ContentTransferEncoding, ContentType, Headers};

/// An attachment to stream.
pub struct Part {
    /// Its file name.
    pub name: String,
    /// Its MIME type.
    pub content_type: String,
    /// Its bytes, read as the email is written.
    pub bytes: Box<dyn Read + Send>,
}

/// Input bytes per base64 chunk: whole 57-byte lines (76 characters once encoded).
const CHUNK: usize = 57 * 1024;

/// Base64 in lines of 76 characters joined by CRLF (RFC 2045), as lettre writes it, encoding
/// `inner` a chunk at a time.
struct Base64Lines<R> {
    inner: R,
    input: Vec<u8>,
    out: Vec<u8>,
    at: usize,
    first: bool,
}

impl<R: Read> Read for Base64Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.out.len() {
            let n = read_full(&mut self.inner, &mut self.input)?;
            if n == 0 {
                return Ok(0);
            }
            let mut text = String::with_capacity(n / 3 * 4 + n / 57 * 2 + 8);
            if !self.first {
                text.push_str("\r\n");
            }
            self.first = false;
            email_encoding::body::base64::encode(&self.input[..n], &mut text)
                .map_err(|_| io::Error::other("base64 encoding failed"))?;
            self.out = text.into_bytes();
            self.at = 0;
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Reads until `buf` is full or the input ends.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The whole email: `message` is lettre's formatting of the email with a `multipart/mixed`
/// body holding only its text part (boundary `boundary`); the attachments are streamed in
/// before the closing boundary.
pub fn with_attachments(
    mut message: Vec<u8>,
    boundary: &str,
    parts: Vec<Part>,
) -> io::Result<impl Read + Send> {
    let closing = format!("--{boundary}--\r\n");
    if !message.ends_with(closing.as_bytes()) {
        return Err(io::Error::other(
            "the email's multipart body is not where it should be",
        ));
    }
    message.truncate(message.len() - closing.len());
    let mut stream: Box<dyn Read + Send> = Box::new(Cursor::new(message));
    for part in parts {
        // In the order lettre's `Attachment` writes them.
        let mut headers = Headers::new();
        headers.set(ContentDisposition::attachment(&part.name));
        headers.set(ContentType::parse(&part.content_type).unwrap_or_else(|_| {
            ContentType::parse("application/octet-stream").expect("BUG: a constant MIME type")
        }));
        headers.set(ContentTransferEncoding::Base64);
        let head = format!("--{boundary}\r\n{headers}\r\n");
        let body = Base64Lines {
            inner: part.bytes,
            input: vec![0; CHUNK],
            out: Vec::new(),
            at: 0,
            first: true,
        };
        stream = Box::new(
            stream
                .chain(Cursor::new(head.into_bytes()))
                .chain(body)
                .chain(Cursor::new(b"\r\n".to_vec())),
        );
    }
    Ok(stream.chain(Cursor::new(closing.into_bytes())))
}

#[cfg(test)]
mod tests {
    use lettre::message::{Attachment, Body, MultiPart, SinglePart};

    use super::*;

    /// The stream equals what lettre makes of the same email in memory.
    #[test]
    fn the_stream_is_the_email_lettre_would_build() {
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let files = [
            ("notes.txt", "text/plain", b"short notes".to_vec()),
            ("scan.pdf", "application/pdf", big),
        ];
        let build = |with_files: bool| {
            let mut parts = MultiPart::mixed()
                .boundary("BOUNDARY")
                .singlepart(SinglePart::plain("Hello".to_owned()));
            if with_files {
                for (name, kind, bytes) in &files {
                    let body =
                        Body::new_with_encoding(bytes.clone(), ContentTransferEncoding::Base64)
                            .unwrap();
                    parts = parts.singlepart(
                        Attachment::new(name.to_string())
                            .body(body, ContentType::parse(kind).unwrap()),
                    );
                }
            }
            lettre::Message::builder()
                .from("a@example.gov.uk".parse().unwrap())
                .to("b@example.gov.uk".parse().unwrap())
                .subject("Files")
                .date(std::time::SystemTime::UNIX_EPOCH)
                .message_id(Some("<1@example.gov.uk>".into()))
                .multipart(parts)
                .unwrap()
                .formatted()
        };
        let parts = files
            .iter()
            .map(|(name, kind, bytes)| Part {
                name: name.to_string(),
                content_type: kind.to_string(),
                bytes: Box::new(Cursor::new(bytes.clone())),
            })
            .collect();
        let mut streamed = Vec::new();
        with_attachments(build(false), "BOUNDARY", parts)
            .unwrap()
            .read_to_end(&mut streamed)
            .unwrap();
        let whole = build(true);
        let differs = streamed.iter().zip(&whole).position(|(a, b)| a != b);
        let around = |bytes: &[u8], at: usize| {
            String::from_utf8_lossy(&bytes[at.saturating_sub(20)..(at + 120).min(bytes.len())])
                .into_owned()
        };
        assert_eq!(
            (differs, streamed.len()),
            (None, whole.len()),
            "streamed / lettre: {:?}",
            differs.map(|at| (around(&streamed, at), around(&whole, at)))
        );
    }
}
