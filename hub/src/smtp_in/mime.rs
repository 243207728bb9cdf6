//! A message from a staff mail client, read once from start to end without holding it in
//! memory: the header blocks (of the message and of each MIME part, RFC 2045/2046) are
//! parsed with mail-parser, text bodies (small) are decoded by it too, and every other
//! part streams, decoded (base64 or quoted-printable), to the sink as it is read. A 100 MB
//! attachment passes through a few lines of buffer.

use std::io::{self, BufRead, Read};

use base64::Engine;
use mail_parser::{Address, MessageParser, MimeHeaders};

/// The most bytes of one header block (the message's or a part's).
const MAX_HEADER_BYTES: usize = 1 << 20;

/// The most bytes of a text or HTML body kept (decoded from at most this much).
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// The deepest nesting of multiparts followed.
const MAX_DEPTH: usize = 16;

/// A line longer than this is passed on in pieces (it cannot be a boundary).
const LINE_PIECE: u64 = 64 * 1024;

/// Why a message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MimeError {
    /// The message breaks a rule it must keep (said in a sentence for the sender).
    #[error("{0}")]
    Refused(String),
    /// The message is over a limit of the hub's (said for the sender).
    #[error("{0}")]
    TooLarge(String),
    /// Reading the spool failed.
    #[error("reading the message failed: {0}")]
    Io(#[from] io::Error),
}

/// What the message's own header says.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// Subject, decoded.
    pub subject: String,
    /// `From:` addresses.
    pub from: Vec<String>,
    /// `To:` addresses.
    pub to: Vec<String>,
    /// `Cc:` addresses.
    pub cc: Vec<String>,
    /// `Message-ID:`, without its angle brackets.
    pub message_id: Option<String>,
    /// How many `Received:` lines it carries (a loop passes through many).
    pub received: usize,
    /// Whether it carries a hub's trace header ([`TRACE_HEADER`]).
    pub traced: bool,
    /// Whether the message is signed as a whole, in the clear (`multipart/signed`: S/MIME,
    /// RFC 8551 3.5, or OpenPGP): the signature covers its exact bytes.
    pub signed: bool,
    /// Whether it has a `Bcc:` field (most programs take it out before sending).
    pub bcc: bool,
}

/// The header a hub puts on the emails it sends, to know them if they come back.
pub const TRACE_HEADER: &str = "X-Sealpost-Hub";

/// Where the parts go.
pub trait Sink {
    /// The first text/plain (`html` false) or text/html body that is not an attachment.
    fn body(&mut self, html: bool, text: String) -> Result<(), MimeError>;
    /// Any other part: its name, its type, and its decoded bytes.
    fn attachment(
        &mut self,
        name: &str,
        content_type: &str,
        bytes: &mut dyn Read,
    ) -> Result<(), MimeError>;
}

/// Reads the whole message from `input`, handing its parts to `sink`; returns its header.
///
/// # Errors
/// [`MimeError::Refused`] for a header block over 1 MB, multiparts nested over 16 deep,
/// or Outlook's `winmail.dat` (TNEF), which no recipient's app can open; I/O errors.
pub fn read(mut input: impl BufRead, sink: &mut impl Sink) -> Result<Envelope, MimeError> {
    let block = header_block(&mut input)?;
    let parser = MessageParser::new();
    let headers = parser.parse_headers(&block);
    let mut envelope = Envelope::default();
    let part = match &headers {
        Some(message) => {
            envelope.subject = message.subject().unwrap_or_default().to_owned();
            envelope.from = addresses(message.from());
            envelope.to = addresses(message.to());
            envelope.cc = addresses(message.cc());
            envelope.message_id = message.message_id().map(str::to_owned);
            // Every Received: line counts, parsed or not.
            envelope.received = message
                .headers_raw()
                .filter(|(name, _)| name.eq_ignore_ascii_case("Received"))
                .count();
            envelope.traced = message.header_raw(TRACE_HEADER).is_some();
            let part = Part::of(message);
            envelope.signed = part.content_type == "multipart/signed";
            envelope.bcc = message.header_raw("Bcc").is_some();
            part
        }
        None => Part {
            content_type: "text/plain".into(),
            encoding: "7bit".into(),
            ..Part::default()
        },
    };
    let mut walker = Walker {
        input,
        boundaries: Vec::new(),
        at_line_start: true,
        texts: (false, false),
        unnamed: 0,
    };
    walker.part(&part, sink, 0)?;
    Ok(envelope)
}

fn addresses(address: Option<&Address>) -> Vec<String> {
    address
        .map(|a| {
            a.iter()
                .filter_map(|addr| addr.address.as_deref())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Reads a header block, up to and including the empty line that ends it (or the end).
fn header_block(input: &mut impl BufRead) -> Result<Vec<u8>, MimeError> {
    let mut block = Vec::new();
    loop {
        let start = block.len();
        // A line longer than a piece arrives in pieces: only a whole line can be blank.
        let starts_line = start == 0 || block.ends_with(b"\n");
        let n = input
            .by_ref()
            .take(LINE_PIECE)
            .read_until(b'\n', &mut block)?;
        if n == 0 {
            break;
        }
        if block.len() > MAX_HEADER_BYTES {
            return Err(MimeError::Refused(
                "a header of the message is over 1 MB".into(),
            ));
        }
        let line = &block[start..];
        if starts_line && (line == b"\r\n" || line == b"\n") {
            break;
        }
    }
    Ok(block)
}

/// What a part's header says about its body.
#[derive(Debug, Default, Clone)]
struct Part {
    /// `type/subtype`, lower case (`text/plain` when absent, RFC 2045 5.2).
    content_type: String,
    boundary: Option<String>,
    encoding: String,
    attachment: bool,
    name: Option<String>,
    /// The header block as it came, for decoding a text body with mail-parser.
    raw_headers: Vec<u8>,
}

impl Part {
    fn of(message: &mail_parser::Message) -> Self {
        let content_type = message
            .content_type()
            .map(|ct| {
                format!(
                    "{}/{}",
                    ct.c_type,
                    ct.c_subtype.as_deref().unwrap_or_default()
                )
                .to_ascii_lowercase()
            })
            .unwrap_or_else(|| "text/plain".into());
        let boundary = message
            .content_type()
            .filter(|ct| ct.c_type.eq_ignore_ascii_case("multipart"))
            .and_then(|ct| ct.attribute("boundary"))
            .map(str::to_owned);
        let attachment = message
            .content_disposition()
            .is_some_and(|cd| cd.c_type.eq_ignore_ascii_case("attachment"));
        Part {
            content_type,
            boundary,
            encoding: message
                .content_transfer_encoding()
                .unwrap_or("7bit")
                .trim()
                .to_ascii_lowercase(),
            attachment,
            name: message.attachment_name().map(str::to_owned),
            raw_headers: message.raw_message().to_vec(),
        }
    }
}

/// Where a body stopped.
enum Stop {
    /// At a boundary line of the multipart at this depth of the stack; `true` when it is
    /// the closing one (`--boundary--`).
    Boundary(usize, bool),
    /// At the end of the input.
    End,
}

struct Walker<R> {
    input: R,
    /// The boundaries of the multiparts being read, outermost first.
    boundaries: Vec<String>,
    /// Whether the next byte read starts a line (only there can a boundary be).
    at_line_start: bool,
    /// Whether the text and the HTML body were found.
    texts: (bool, bool),
    /// Attachments named by the hub so far.
    unnamed: usize,
}

impl<R: BufRead> Walker<R> {
    /// Reads the body of `part` to where it stops.
    fn part(&mut self, part: &Part, sink: &mut impl Sink, depth: usize) -> Result<Stop, MimeError> {
        if depth > MAX_DEPTH {
            return Err(MimeError::Refused(format!(
                "the message's parts are nested more than {MAX_DEPTH} deep"
            )));
        }
        if let Some(boundary) = part.boundary.clone() {
            return self.multipart(boundary, sink, depth);
        }
        let winmail = part.content_type == "application/ms-tnef"
            || part
                .name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case("winmail.dat"));
        if winmail {
            return Err(MimeError::Refused(
                "the message carries winmail.dat (Outlook's rich text format), which \
                 recipients cannot open: set Outlook to send this message as HTML or plain \
                 text, and send it again"
                    .into(),
            ));
        }
        let text = match part.content_type.as_str() {
            "text/plain" if !part.attachment && part.name.is_none() && !self.texts.0 => Some(false),
            "text/html" if !part.attachment && part.name.is_none() && !self.texts.1 => Some(true),
            _ => None,
        };
        if let Some(html) = text {
            let Some((raw, stop)) = self.raw_body(MAX_BODY_BYTES)? else {
                return Err(MimeError::TooLarge(format!(
                    "the message's text is over {} MB: send a long document as an attachment",
                    MAX_BODY_BYTES >> 20
                )));
            };
            let mut whole = part.raw_headers.clone();
            if !(whole.ends_with(b"\n\n") || whole.ends_with(b"\n\r\n")) {
                if !whole.ends_with(b"\n") {
                    whole.extend_from_slice(b"\r\n");
                }
                whole.extend_from_slice(b"\r\n");
            }
            whole.extend_from_slice(&raw);
            // mail-parser decodes the transfer encoding and the charset.
            let decoded = MessageParser::new().parse(&whole).and_then(|m| {
                if html {
                    m.body_html(0).map(|b| b.into_owned())
                } else {
                    m.body_text(0).map(|b| b.into_owned())
                }
            });
            if html {
                self.texts.1 = true;
            } else {
                self.texts.0 = true;
            }
            sink.body(html, decoded.unwrap_or_default())?;
            return Ok(stop);
        }
        let name = match &part.name {
            Some(name) if !name.trim().is_empty() => name.clone(),
            _ => {
                self.unnamed += 1;
                default_name(&part.content_type, self.unnamed)
            }
        };
        let mut body = Body {
            walker: self,
            encoding: Encoding::of(&part.encoding),
            pending: Vec::new(),
            held: Vec::new(),
            carry: Vec::new(),
            stop: None,
            invalid: None,
        };
        let taken = sink.attachment(&name, &part.content_type, &mut body);
        // A part that is not what its encoding says is the message's fault, not the hub's.
        if let Some(why) = body.invalid.take() {
            return Err(MimeError::Refused(why));
        }
        taken?;
        // Whatever the sink left unread is read through to the part's end.
        io::copy(&mut body, &mut io::sink())?;
        if let Some(why) = body.invalid.take() {
            return Err(MimeError::Refused(why));
        }
        Ok(body.stop.take().unwrap_or(Stop::End))
    }

    /// Reads a multipart: its preamble, each part, its epilogue (up to an enclosing
    /// boundary, or the end).
    fn multipart(
        &mut self,
        boundary: String,
        sink: &mut impl Sink,
        depth: usize,
    ) -> Result<Stop, MimeError> {
        self.boundaries.push(boundary);
        let mine = self.boundaries.len() - 1;
        // The preamble, skipped.
        let mut stop = self.skip_to_boundary()?;
        loop {
            match stop {
                Stop::Boundary(level, false) if level == mine => {
                    let (block, early) = self.part_headers()?;
                    if let Some(next) = early {
                        // A boundary among the headers: a part with no body (its sender
                        // left out the blank line); what follows is the next part.
                        stop = next;
                        continue;
                    }
                    let part = MessageParser::new()
                        .parse_headers(&block)
                        .map(|m| Part::of(&m))
                        .unwrap_or_else(|| Part {
                            content_type: "text/plain".into(),
                            encoding: "7bit".into(),
                            ..Part::default()
                        });
                    stop = self.part(&part, sink, depth + 1)?;
                }
                Stop::Boundary(level, true) if level == mine => {
                    // The epilogue, skipped up to an enclosing boundary.
                    self.boundaries.pop();
                    return if mine == 0 {
                        io::copy(&mut self.input, &mut io::sink())?;
                        Ok(Stop::End)
                    } else {
                        self.skip_to_boundary()
                    };
                }
                // An enclosing multipart's boundary: this one was never closed.
                other => {
                    self.boundaries.truncate(mine);
                    return Ok(other);
                }
            }
        }
    }

    /// A part's header block, up to its blank line; stopped early (with where) by a
    /// boundary line, so that a part missing its blank line cannot swallow the next ones.
    fn part_headers(&mut self) -> Result<(Vec<u8>, Option<Stop>), MimeError> {
        let mut block = Vec::new();
        let mut line = Vec::new();
        loop {
            line.clear();
            let starts_line = self.at_line_start;
            match self.line(&mut line)? {
                None => return Ok((block, Some(Stop::End))),
                Some(Some(stop)) => return Ok((block, Some(stop))),
                Some(None) => {
                    block.extend_from_slice(&line);
                    if block.len() > MAX_HEADER_BYTES {
                        return Err(MimeError::Refused(
                            "a header of the message is over 1 MB".into(),
                        ));
                    }
                    if starts_line && (line == b"\r\n" || line == b"\n") {
                        return Ok((block, None));
                    }
                }
            }
        }
    }

    /// Skips lines up to a boundary line of any open multipart.
    fn skip_to_boundary(&mut self) -> Result<Stop, MimeError> {
        let mut line = Vec::new();
        loop {
            line.clear();
            match self.line(&mut line)? {
                None => return Ok(Stop::End),
                Some(Some(stop)) => return Ok(stop),
                Some(None) => {}
            }
        }
    }

    /// The raw body of a part (still encoded) up to where it stops; `None` when it is over
    /// `limit` bytes (read through, not kept).
    fn raw_body(&mut self, limit: usize) -> Result<Option<(Vec<u8>, Stop)>, MimeError> {
        let mut raw = Vec::new();
        let mut line = Vec::new();
        let mut over = false;
        loop {
            line.clear();
            match self.line(&mut line)? {
                None if over => return Ok(None),
                None => return Ok(Some((raw, Stop::End))),
                Some(Some(_)) if over => return Ok(None),
                Some(Some(stop)) => {
                    // The line break before a boundary belongs to the boundary.
                    if raw.ends_with(b"\r\n") {
                        raw.truncate(raw.len() - 2);
                    } else if raw.ends_with(b"\n") {
                        raw.truncate(raw.len() - 1);
                    }
                    return Ok(Some((raw, stop)));
                }
                Some(None) => {
                    if raw.len() + line.len() <= limit {
                        raw.extend_from_slice(&line);
                    } else {
                        over = true;
                        raw = Vec::new();
                    }
                }
            }
        }
    }

    /// Reads the next line (or piece of a long one) into `line`: `None` at the end,
    /// `Some(Some(stop))` for a boundary line, `Some(None)` for content.
    fn line(&mut self, line: &mut Vec<u8>) -> Result<Option<Option<Stop>>, MimeError> {
        let starts_line = self.at_line_start;
        let n = self
            .input
            .by_ref()
            .take(LINE_PIECE)
            .read_until(b'\n', line)?;
        if n == 0 {
            return Ok(None);
        }
        self.at_line_start = line.ends_with(b"\n");
        if starts_line && line.starts_with(b"--") {
            let text = trim_end(&line[2..]);
            for (level, boundary) in self.boundaries.iter().enumerate().rev() {
                let b = boundary.as_bytes();
                if let Some(rest) = text.strip_prefix(b) {
                    if rest.is_empty() {
                        return Ok(Some(Some(Stop::Boundary(level, false))));
                    }
                    if rest == b"--" {
                        return Ok(Some(Some(Stop::Boundary(level, true))));
                    }
                }
            }
        }
        Ok(Some(None))
    }
}

fn trim_end(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &bytes[..end]
}

/// A name for an attachment its sender did not name: `attachment-2.pdf`, `message-1.eml`.
fn default_name(content_type: &str, n: usize) -> String {
    if content_type == "message/rfc822" {
        return format!("message-{n}.eml");
    }
    let extension = mime_guess::get_mime_extensions_str(content_type)
        .and_then(|e| e.first())
        .map(|e| format!(".{e}"))
        .unwrap_or_default();
    format!("attachment-{n}{extension}")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Base64,
    QuotedPrintable,
    /// 7bit, 8bit, binary: as is.
    Identity,
}

impl Encoding {
    fn of(name: &str) -> Self {
        match name {
            "base64" => Self::Base64,
            "quoted-printable" => Self::QuotedPrintable,
            _ => Self::Identity,
        }
    }
}

/// The decoded bytes of one part, read from the walker's input up to the part's end.
struct Body<'w, R> {
    walker: &'w mut Walker<R>,
    encoding: Encoding,
    /// Decoded bytes not yet handed out.
    pending: Vec<u8>,
    /// The line break of the last content line, held back: before a boundary it is not
    /// the part's.
    held: Vec<u8>,
    /// Base64 characters not yet decoded (fewer than four).
    carry: Vec<u8>,
    /// Where the part stopped, once it has.
    stop: Option<Stop>,
    /// Why the part's encoding could not be decoded, if it could not.
    invalid: Option<String>,
}

impl<R: BufRead> Body<'_, R> {
    /// Decodes the next line into `pending`; false at the part's end.
    fn fill(&mut self) -> io::Result<bool> {
        if self.stop.is_some() {
            return Ok(false);
        }
        let mut line = Vec::new();
        let read = self.walker.line(&mut line).map_err(|e| match e {
            MimeError::Io(io) => io,
            other => io::Error::other(other.to_string()),
        })?;
        match read {
            None => {
                self.stop = Some(Stop::End);
                self.finish_base64()?;
                Ok(false)
            }
            Some(Some(stop)) => {
                self.stop = Some(stop);
                self.finish_base64()?;
                Ok(false)
            }
            Some(None) => {
                match self.encoding {
                    Encoding::Base64 => {
                        // Only the alphabet counts: anything else (a stray dot, spaces) is
                        // dropped before the characters are grouped in fours.
                        self.carry.extend(line.iter().filter(|b| {
                            b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')
                        }));
                        let whole = self.carry.len() / 4 * 4;
                        if whole > 0 {
                            let chunk: Vec<u8> = self.carry.drain(..whole).collect();
                            self.decode_base64(&chunk)?;
                        }
                    }
                    Encoding::QuotedPrintable => {
                        let (content, ending) = split_ending(&line);
                        self.pending.append(&mut self.held);
                        // A soft line break (`=` at the end) joins the next line.
                        match trim_end(content).strip_suffix(b"=") {
                            Some(joined) if !ending.is_empty() => {
                                self.pending.extend(qp_decode(joined));
                            }
                            _ => {
                                self.pending.extend(qp_decode(content));
                                self.held = ending.to_vec();
                            }
                        }
                    }
                    Encoding::Identity => {
                        let (content, ending) = split_ending(&line);
                        self.pending.append(&mut self.held);
                        self.pending.extend_from_slice(content);
                        self.held = ending.to_vec();
                    }
                }
                Ok(true)
            }
        }
    }

    fn decode_base64(&mut self, chunk: &[u8]) -> io::Result<()> {
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
                .with_decode_allow_trailing_bits(true),
        );
        let clean = match chunk.iter().position(|&b| b == b'=') {
            // Padding ends the data; anything after it is not part of it.
            Some(at) => &chunk[..at],
            None => chunk,
        };
        if clean.is_empty() {
            return Ok(());
        }
        let decoded = match engine.decode(clean) {
            Ok(decoded) => decoded,
            Err(e) => {
                let why = format!("an attachment is not valid base64 ({e})");
                self.invalid = Some(why.clone());
                return Err(io::Error::new(io::ErrorKind::InvalidData, why));
            }
        };
        self.pending.extend_from_slice(&decoded);
        Ok(())
    }

    fn finish_base64(&mut self) -> io::Result<()> {
        if self.encoding == Encoding::Base64 && !self.carry.is_empty() {
            let rest = std::mem::take(&mut self.carry);
            self.decode_base64(&rest)?;
        }
        Ok(())
    }
}

impl<R: BufRead> Read for Body<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pending.is_empty() {
            if !self.fill()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.pending.len());
        buf[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        Ok(n)
    }
}

fn split_ending(line: &[u8]) -> (&[u8], &[u8]) {
    if let Some(content) = line.strip_suffix(b"\r\n") {
        (content, b"\r\n")
    } else if let Some(content) = line.strip_suffix(b"\n") {
        (content, b"\n")
    } else {
        (line, b"")
    }
}

/// Quoted-printable (RFC 2045 6.7) of one line without its break, by mail-parser; a line
/// it cannot decode is kept as it is, as RFC 2045 advises for malformed input.
fn qp_decode(line: &[u8]) -> Vec<u8> {
    mail_parser::decoders::quoted_printable::quoted_printable_decode(line)
        .unwrap_or_else(|| line.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keeps what it is handed.
    #[derive(Default)]
    struct Kept {
        text: Option<String>,
        html: Option<String>,
        files: Vec<(String, String, Vec<u8>)>,
    }

    impl Sink for Kept {
        fn body(&mut self, html: bool, text: String) -> Result<(), MimeError> {
            if html {
                self.html = Some(text);
            } else {
                self.text = Some(text);
            }
            Ok(())
        }

        fn attachment(
            &mut self,
            name: &str,
            content_type: &str,
            bytes: &mut dyn Read,
        ) -> Result<(), MimeError> {
            let mut all = Vec::new();
            bytes.read_to_end(&mut all)?;
            self.files.push((name.into(), content_type.into(), all));
            Ok(())
        }
    }

    fn read_all(message: &str) -> (Envelope, Kept) {
        let mut kept = Kept::default();
        let envelope = read(io::Cursor::new(message.as_bytes().to_vec()), &mut kept).unwrap();
        (envelope, kept)
    }

    #[test]
    fn a_header_line_longer_than_a_read_does_not_end_the_header() {
        let pad = "a".repeat(LINE_PIECE as usize - "X-Pad: ".len());
        let (envelope, kept) = read_all(&format!(
            "Subject: s\r\nX-Pad: {pad}\r\nFrom: <a@example.gov.uk>\r\n\r\nThe text.\r\n"
        ));
        assert_eq!(envelope.from, ["a@example.gov.uk"]);
        assert_eq!(kept.text.as_deref().map(str::trim), Some("The text."));
        // The same in a part.
        let (_, kept) = read_all(&format!(
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nX-Pad: {pad}\r\n\
             Content-Type: text/html\r\n\r\n<p>Hi</p>\r\n--b--\r\n"
        ));
        assert_eq!(kept.html.as_deref().map(str::trim), Some("<p>Hi</p>"));
    }

    #[test]
    fn a_part_missing_its_blank_line_does_not_swallow_the_next() {
        let (_, kept) = read_all(
            "Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\
             --b\r\nContent-Type: application/pdf; name=a.pdf\r\n\
             Content-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n--b--\r\n",
        );
        assert_eq!(kept.files.len(), 1);
        assert_eq!(kept.files[0].0, "a.pdf");
        assert_eq!(kept.files[0].2, b"%PDF");
    }

    #[test]
    fn boundaries_that_begin_alike_and_a_missing_close_are_told_apart() {
        let (_, kept) = read_all(
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n\
             --b\r\nContent-Type: multipart/alternative; boundary=b1\r\n\r\n\
             --b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
             --b1\r\nContent-Type: text/html\r\n\r\n<p>hello</p>\r\n\
             --b\r\nContent-Type: text/csv; name=t.csv\r\n\r\na,b\r\n1,2",
        );
        assert_eq!(kept.text.as_deref().map(str::trim), Some("hello"));
        assert!(kept.html.unwrap().contains("<p>hello</p>"));
        // The inner multipart never closed; the last line has no line break.
        assert_eq!(
            kept.files,
            [("t.csv".into(), "text/csv".into(), b"a,b\r\n1,2".to_vec())]
        );
    }

    #[test]
    fn encodings_decode_across_lines_and_the_break_before_a_boundary_is_not_content() {
        let (_, kept) = read_all(
            "Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n\
             --x\r\nContent-Type: text/plain; name=q.txt\r\n\
             Content-Transfer-Encoding: quoted-printable\r\n\r\n\
             caf=C3=A9 soft=\r\nly joined\r\nsecond line\r\n\
             --x\r\nContent-Type: application/octet-stream; name=b.bin\r\n\
             Content-Transfer-Encoding: base64\r\n\r\nAAEC.Aw\r\nQF\r\n\
             --x\r\nContent-Type: text/plain; name=raw.txt\r\n\r\nline one\r\n\r\n--x--\r\n",
        );
        let by_name = |n: &str| kept.files.iter().find(|f| f.0 == n).unwrap().2.clone();
        assert_eq!(
            by_name("q.txt"),
            "café softly joined\r\nsecond line".as_bytes()
        );
        // A stray "." is dropped before the characters are grouped in fours.
        assert_eq!(by_name("b.bin"), [0u8, 1, 2, 3, 4, 5]);
        assert_eq!(by_name("raw.txt"), b"line one\r\n");
    }

    #[test]
    fn the_header_gives_the_envelope_and_a_lone_text_is_the_body() {
        let (envelope, kept) = read_all(
            "From: A <a@example.gov.uk>\r\nTo: b@partner.example, c@care.example\r\n\
             Subject: =?utf-8?q?Caf=C3=A9?=\r\nMessage-ID: <m1@example.gov.uk>\r\n\
             Received: from x\r\nReceived: from y\r\n\r\nJust text.\r\n",
        );
        assert_eq!(envelope.subject, "Café");
        assert_eq!(envelope.from, ["a@example.gov.uk"]);
        assert_eq!(envelope.to, ["b@partner.example", "c@care.example"]);
        assert_eq!(envelope.message_id.as_deref(), Some("m1@example.gov.uk"));
        assert_eq!(envelope.received, 2);
        assert!(!envelope.traced);
        assert_eq!(kept.text.as_deref().map(str::trim), Some("Just text."));
        assert!(kept.files.is_empty());
    }
}
