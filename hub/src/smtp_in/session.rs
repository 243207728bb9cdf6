//! One SMTP session with a gateway: commands in, replies out, a message spooled and sent.

use std::{
    io::{self, Write},
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use base64::Engine;
use sealpost_proto::address;
use sha2::{Digest, Sha256};
use smtp_proto::{
    request::receiver::{DataReceiver, RequestReceiver},
    EhloResponse, Request, AUTH_LOGIN, AUTH_PLAIN, EXT_8BIT_MIME, EXT_AUTH,
    EXT_ENHANCED_STATUS_CODES, EXT_PIPELINING, EXT_SIZE, EXT_SMTP_UTF8, EXT_START_TLS,
};
use tokio::{
    io::{AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
};

use super::{config::DkimUse, dkim, mime, Listener};
use crate::error::Error;
use crate::hub::{Caller, Hub};
use crate::sending::{AttachmentFile, OrgMessage};

/// Errors after which the session is closed.
const MAX_ERRORS: u32 = 10;
/// `Received:` lines past which a message is taken to be going round in a loop (RFC
/// 5321 6.3 suggests about 100; mail between an organisation's gateway and its hub passes
/// few hops).
const MAX_HOPS: usize = 30;

enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
    Gone,
}

impl Stream {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf).await,
            Stream::Tls(s) => s.read(buf).await,
            Stream::Gone => Ok(0),
        }
    }

    /// Ends the connection (with TLS's close_notify under TLS); reads then find its end.
    async fn close(&mut self) {
        match std::mem::replace(self, Stream::Gone) {
            Stream::Plain(mut s) => {
                let _ = s.shutdown().await;
            }
            Stream::Tls(mut s) => {
                let _ = s.shutdown().await;
            }
            Stream::Gone => {}
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Stream::Plain(s) => write_flushed(s, bytes).await,
            Stream::Tls(s) => write_flushed(s.as_mut(), bytes).await,
            Stream::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }
}

async fn write_flushed(s: &mut (impl AsyncWrite + Unpin), bytes: &[u8]) -> io::Result<()> {
    s.write_all(bytes).await?;
    s.flush().await
}

struct Session {
    hub: Arc<Hub>,
    setup: Arc<Listener>,
    peer: SocketAddr,
    stream: Stream,
    /// Bytes read and not yet parsed.
    input: Vec<u8>,
    receiver: RequestReceiver,
    greeted: bool,
    tls: bool,
    /// The judgement of the client certificate, once TLS is on.
    certificate: Option<Result<(), String>>,
    authenticated: bool,
    auth_failures: u32,
    errors: u32,
    mail_from: Option<String>,
    /// The envelope's recipients (routing domain taken off).
    recipients: Vec<String>,
    /// Whether a recipient came under the routing domain.
    routed: bool,
    started: std::time::Instant,
}

/// Runs one session to its end.
pub async fn run(
    hub: Arc<Hub>,
    setup: Arc<Listener>,
    stream: TcpStream,
    peer: SocketAddr,
) -> io::Result<()> {
    let mut s = Session {
        hub,
        setup,
        peer,
        stream: Stream::Plain(stream),
        input: Vec::new(),
        receiver: RequestReceiver::default(),
        greeted: false,
        tls: false,
        certificate: None,
        authenticated: false,
        auth_failures: 0,
        errors: 0,
        mail_from: None,
        recipients: Vec::new(),
        routed: false,
        started: std::time::Instant::now(),
    };
    if !s.setup.allow_ips.is_empty() && !s.setup.allow_ips.contains(&canonical(peer.ip())) {
        return s
            .reply(&format!(
                "554 5.7.1 {} may not send here: this listener takes mail from the \
                 organisation's gateway only",
                peer.ip()
            ))
            .await;
    }
    let hostname = s.setup.hostname.clone();
    s.reply(&format!("220 {hostname} Sealpost secure mail ESMTP"))
        .await?;
    loop {
        let request = match s.next_request().await? {
            None => return Ok(()),
            Some(Ok(request)) => request,
            Some(Err(reply)) => {
                s.error(&reply).await?;
                continue;
            }
        };
        match request {
            Request::Ehlo { host } => s.ehlo(&host).await?,
            Request::Helo { host } | Request::Lhlo { host } => {
                s.reset();
                s.greeted = true;
                let _ = host;
                s.reply(&format!("250 {hostname}")).await?;
            }
            Request::StartTls => {
                if s.tls {
                    s.error("503 5.5.1 TLS is on already").await?;
                } else {
                    s.start_tls().await?;
                }
            }
            Request::Auth {
                mechanism,
                initial_response,
            } => {
                if !s.auth(mechanism, initial_response).await? {
                    return Ok(());
                }
            }
            Request::Mail { from } => s.mail(&from.address, from.size).await?,
            Request::Rcpt { to } => s.rcpt(&to.address).await?,
            Request::Data => s.data().await?,
            Request::Bdat { .. } => {
                s.error("502 5.5.1 BDAT is not offered here: use DATA")
                    .await?
            }
            Request::Rset => {
                s.reset();
                s.reply("250 2.0.0 OK").await?;
            }
            Request::Noop { .. } => s.reply("250 2.0.0 OK").await?,
            Request::Quit => {
                s.reply("221 2.0.0 Bye").await?;
                return Ok(());
            }
            Request::Vrfy { .. } => s.reply("252 2.5.0 Cannot VRFY; send the message").await?,
            Request::Help { .. } => {
                s.reply(
                    "214 2.0.0 This listener takes secure mail from the organisation's \
                     mail gateway",
                )
                .await?
            }
            _ => s.error("502 5.5.1 Command not implemented").await?,
        }
    }
}

/// An IPv4-mapped IPv6 address as its IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl Session {
    async fn reply(&mut self, line: &str) -> io::Result<()> {
        self.stream
            .write_all(format!("{line}\r\n").as_bytes())
            .await
    }

    /// A refusal of what the message is (a sender, a recipient, a size): said, and not
    /// counted toward closing the session, which a gateway reuses for other messages.
    async fn refuse(&mut self, line: &str) -> io::Result<()> {
        self.reply(line).await
    }

    /// A protocol error (syntax, order, authentication): counts toward closing the session.
    async fn error(&mut self, line: &str) -> io::Result<()> {
        self.errors += 1;
        if self.errors >= MAX_ERRORS {
            self.reply("421 4.7.0 Too many errors; closing").await?;
            self.stream.close().await;
            return Err(io::Error::other("too many errors"));
        }
        self.reply(line).await
    }

    fn reset(&mut self) {
        self.mail_from = None;
        self.recipients.clear();
        self.routed = false;
    }

    /// Reads more of the connection into `input`; false at its end.
    async fn fill(&mut self, wait: Duration) -> io::Result<bool> {
        let mut buf = [0u8; 16 * 1024];
        let n = match tokio::time::timeout(wait, self.stream.read(&mut buf)).await {
            Ok(read) => read?,
            Err(_) => {
                let _ = self.reply("421 4.4.2 Timeout; closing").await;
                self.stream.close().await;
                return Ok(false);
            }
        };
        self.input.extend_from_slice(&buf[..n]);
        Ok(n > 0)
    }

    /// The next command, or the reply to a malformed one; `None` at the connection's end.
    async fn next_request(&mut self) -> io::Result<Option<Result<Request<String>, String>>> {
        if self.may_send().is_err() && self.started.elapsed() > self.setup.waits.prove {
            self.reply("421 4.7.0 The gateway did not identify itself in time; closing")
                .await?;
            return Ok(None);
        }
        loop {
            let (parsed, consumed) = {
                let mut bytes = self.input.iter();
                let parsed = self.receiver.ingest(&mut bytes).map(|r| r.into_owned());
                (parsed, self.input.len() - bytes.as_slice().len())
            };
            self.input.drain(..consumed);
            match parsed {
                Ok(request) => return Ok(Some(Ok(request))),
                Err(smtp_proto::Error::NeedsMoreData { .. }) => {
                    if !self.fill(self.setup.waits.command).await? {
                        return Ok(None);
                    }
                }
                Err(e) => return Ok(Some(Err(refusal(e)))),
            }
        }
    }

    /// One line of an AUTH exchange (base64, or `*` to give up).
    async fn read_line(&mut self) -> io::Result<Option<String>> {
        loop {
            if let Some(end) = self.input.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.input.drain(..=end).collect();
                return Ok(Some(String::from_utf8_lossy(&line).trim().to_owned()));
            }
            if self.input.len() > 4096 || !self.fill(self.setup.waits.command).await? {
                return Ok(None);
            }
        }
    }

    async fn ehlo(&mut self, _host: &str) -> io::Result<()> {
        self.reset();
        self.greeted = true;
        let mut ehlo = EhloResponse::new(self.setup.hostname.as_str());
        ehlo.capabilities =
            EXT_PIPELINING | EXT_SIZE | EXT_8BIT_MIME | EXT_SMTP_UTF8 | EXT_ENHANCED_STATUS_CODES;
        if !self.tls {
            ehlo.capabilities |= EXT_START_TLS;
        } else if !self.setup.auth_secrets.is_empty() {
            // AUTH only under TLS: the secret never crosses the network in the clear.
            ehlo.capabilities |= EXT_AUTH;
            ehlo.auth_mechanisms = AUTH_PLAIN | AUTH_LOGIN;
        }
        ehlo.size = self.setup.config.max_message_bytes as usize;
        let mut out = Vec::new();
        ehlo.write(&mut out)?;
        // smtp-proto's first line carries a greeting of its own: ours is the host name.
        if let Some(end) = out.windows(2).position(|w| w == b"\r\n") {
            let code = out[..4].to_vec();
            let mut first = code;
            first.extend_from_slice(self.setup.hostname.as_bytes());
            out.splice(..end, first);
        }
        self.stream.write_all(&out).await
    }

    async fn start_tls(&mut self) -> io::Result<()> {
        self.reply("220 2.0.0 Ready to start TLS").await?;
        // Anything sent after STARTTLS in the clear is not the client's to send (RFC 3207
        // 4.2): dropped, so that nobody can inject commands into the protected session.
        self.input.clear();
        self.receiver = RequestReceiver::default();
        let Stream::Plain(tcp) = std::mem::replace(&mut self.stream, Stream::Gone) else {
            return Err(io::Error::other(
                "STARTTLS on a connection that is not plain",
            ));
        };
        let tls = tokio::time::timeout(Duration::from_secs(60), self.setup.tls.accept(tcp))
            .await
            .map_err(|_| io::Error::other("TLS handshake timed out"))??;
        if self.setup.certificates() {
            let presented = tls.get_ref().1.peer_certificates();
            self.certificate = Some(self.setup.judge.judge(presented));
        }
        self.stream = Stream::Tls(Box::new(tls));
        self.tls = true;
        // A new session starts with a new EHLO (RFC 3207 4.2).
        self.greeted = false;
        self.reset();
        Ok(())
    }

    /// AUTH PLAIN (RFC 4616) or LOGIN; false when the session is to close.
    async fn auth(&mut self, mechanism: u64, initial: String) -> io::Result<bool> {
        if !self.tls {
            self.error("538 5.7.11 Encryption required: STARTTLS first")
                .await?;
            return Ok(true);
        }
        if self.setup.auth_secrets.is_empty() {
            self.error("502 5.5.1 AUTH is not offered here").await?;
            return Ok(true);
        }
        if self.authenticated {
            self.error("503 5.5.1 Already authenticated").await?;
            return Ok(true);
        }
        let decode = |text: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .ok()
        };
        let secret = if mechanism == AUTH_PLAIN {
            // No initial response: asked for; "=" is an empty one (RFC 4954 4).
            let response = match initial.as_str() {
                "" => {
                    self.reply("334 ").await?;
                    self.read_line().await?
                }
                "=" => Some(String::new()),
                _ => Some(initial),
            };
            response
                .filter(|r| r != "*")
                .and_then(|r| decode(&r))
                .and_then(|plain| {
                    // authzid NUL authcid NUL passwd
                    plain.split(|&b| b == 0).nth(2).map(<[u8]>::to_vec)
                })
        } else if mechanism == AUTH_LOGIN {
            let _user = if initial.is_empty() {
                self.reply("334 VXNlcm5hbWU6").await?;
                self.read_line().await?
            } else {
                Some(initial)
            };
            self.reply("334 UGFzc3dvcmQ6").await?;
            self.read_line()
                .await?
                .filter(|r| r != "*")
                .and_then(|r| decode(&r))
        } else {
            self.error("504 5.5.4 Unrecognised authentication mechanism: use PLAIN")
                .await?;
            return Ok(true);
        };
        let digest: Option<[u8; 32]> = secret.map(|s| Sha256::digest(&s).into());
        if digest.is_some_and(|d| self.setup.auth_secrets.contains(&d)) {
            self.authenticated = true;
            self.reply("235 2.7.0 Authentication succeeded").await?;
            return Ok(true);
        }
        self.auth_failures += 1;
        tracing::warn!(peer = %self.peer, "SMTP AUTH failed");
        if self.auth_failures >= 3 {
            self.reply("421 4.7.8 Authentication failed three times; closing")
                .await?;
            return Ok(false);
        }
        self.error("535 5.7.8 Authentication credentials invalid")
            .await?;
        Ok(true)
    }

    /// Whether this session may send, or the reply that says why not.
    fn authorised(&self) -> Result<(), String> {
        if !self.tls {
            return Err("530 5.7.0 Must issue a STARTTLS command first".into());
        }
        if self.authenticated {
            return Ok(());
        }
        match &self.certificate {
            Some(Ok(())) => Ok(()),
            Some(Err(why)) if self.setup.auth_secrets.is_empty() => Err(format!(
                "530 5.7.1 {why}: only the organisation's gateway may send"
            )),
            Some(Err(why)) => Err(format!(
                "530 5.7.1 {why}; authenticate (AUTH) with the gateway's secret instead"
            )),
            None => Err("530 5.7.0 Authentication required: AUTH with the gateway's secret".into()),
        }
    }

    /// Whether this session may start a message: proven, or (with `dkim = "accept"`) under
    /// TLS, each message then to prove itself by its signature.
    fn may_send(&self) -> Result<(), String> {
        match self.authorised() {
            Err(_) if self.tls && self.setup.config.dkim == DkimUse::Accept => Ok(()),
            judged => judged,
        }
    }

    /// Whether the message must prove itself by DKIM: always under `require`, and under
    /// `accept` when the session proved nothing else.
    fn dkim_needed(&self) -> bool {
        match self.setup.config.dkim {
            DkimUse::Require => true,
            DkimUse::Accept => self.authorised().is_err(),
            DkimUse::Off => false,
        }
    }

    async fn mail(&mut self, from: &str, size: usize) -> io::Result<()> {
        if let Err(reply) = self.may_send() {
            return self.error(&reply).await;
        }
        if !self.greeted {
            return self.error("503 5.5.1 Say EHLO first").await;
        }
        if self.mail_from.is_some() {
            return self.error("503 5.5.1 Nested MAIL command").await;
        }
        let max = self.setup.config.max_message_bytes;
        if size as u64 > max {
            return self
                .refuse(&format!(
                    "552 5.3.4 The message is larger than this listener takes ({max} bytes)"
                ))
                .await;
        }
        if from.trim().is_empty() {
            return self
                .refuse("550 5.7.1 A message without a sender cannot be sent securely")
                .await;
        }
        let from = match address::normalise(from) {
            Ok(a) if self.hub.config().is_org_address(&a) => a,
            _ => {
                return self
                    .refuse(&format!(
                        "550 5.7.1 <{}> is not an address of the organisation: secure mail \
                         is sent from staff addresses",
                        address::shown(from)
                    ))
                    .await
            }
        };
        self.mail_from = Some(from);
        self.reply("250 2.1.0 Sender OK").await
    }

    async fn rcpt(&mut self, to: &str) -> io::Result<()> {
        if self.mail_from.is_none() {
            return self.error("503 5.5.1 MAIL first").await;
        }
        let max = self.setup.config.max_recipients;
        if self.recipients.len() >= max {
            return self
                // 452: the gateway sends the rest in another transaction (RFC 5321
                // 4.5.3.1.10), as another secure message.
                .refuse(&format!(
                    "452 4.5.3 Too many recipients: at most {max} in one secure message; send \
                     the rest in another"
                ))
                .await;
        }
        let Ok(mut address) = address::normalise(to) else {
            return self
                .refuse(&format!(
                    "501 5.1.3 <{}> is not a valid address",
                    address::shown(to)
                ))
                .await;
        };
        if let Some(domain) = &self.setup.config.routing_domain {
            let suffix = format!(".{}", domain.to_ascii_lowercase());
            if let Some(real) = address.strip_suffix(&suffix) {
                address = real.to_owned();
                self.routed = true;
            }
        }
        if !self.recipients.contains(&address) {
            self.recipients.push(address);
        }
        self.reply("250 2.1.5 Recipient OK").await
    }

    async fn data(&mut self) -> io::Result<()> {
        if self.mail_from.is_none() {
            return self.error("503 5.5.1 MAIL first").await;
        }
        if self.recipients.is_empty() {
            return self.error("554 5.5.1 No valid recipients").await;
        }
        self.reply("354 Start mail input; end with <CRLF>.<CRLF>")
            .await?;
        let max = self.setup.config.max_message_bytes;
        let spool = Spool::start(&self.hub, self.dkim_needed());
        let mut spool = match spool {
            Ok(spool) => Some(spool),
            Err(e) => {
                tracing::error!(error = %e, "the SMTP spool could not be opened");
                None
            }
        };
        let mut receiver = DataReceiver::new();
        // The DATA state starts after the CRLF of the command: so that a lone "." or a
        // stuffed ".." on the first line is seen as such.
        let mut primed = Vec::new();
        receiver.ingest(&mut b"\r\n".iter(), &mut primed);
        let mut received: u64 = 0;
        let mut chunk = Vec::new();
        loop {
            let (done, consumed) = {
                let mut bytes = self.input.iter();
                let done = receiver.ingest(&mut bytes, &mut chunk);
                (done, self.input.len() - bytes.as_slice().len())
            };
            self.input.drain(..consumed);
            // The last byte waits for the next read: a terminator split across reads
            // takes back the CR before it (smtp-proto removes it from this buffer).
            let ready = if done {
                chunk.len()
            } else {
                chunk.len().saturating_sub(1)
            };
            let piece: Vec<u8> = chunk.drain(..ready).collect();
            received += piece.len() as u64;
            if received > max {
                // Read to its end and dropped (the spool removes its file); refused below.
                spool = None;
            }
            if let Some(s) = &mut spool {
                if s.write(piece).await.is_err() {
                    spool = None;
                }
            }
            if done {
                break;
            }
            if !self.fill(self.setup.waits.data).await? {
                return Ok(());
            }
        }
        let mail_from = self.mail_from.take().unwrap_or_default();
        let recipients = std::mem::take(&mut self.recipients);
        let routed = std::mem::replace(&mut self.routed, false);
        // A transaction ended: the errors of this one do not weigh on the next.
        self.errors = 0;
        if received > max {
            return self
                .refuse(&format!(
                    "552 5.3.4 The message is larger than this listener takes ({max} bytes)"
                ))
                .await;
        }
        let Some(spool) = spool else {
            return self
                .reply("451 4.3.0 The hub could not keep the message just now; try again later")
                .await;
        };
        let (path, digest, signed) = match spool.finish().await {
            Ok(finished) => finished,
            Err(e) => {
                tracing::error!(error = %e, "the SMTP spool could not be written");
                return self
                    .reply("451 4.3.0 The hub could not keep the message just now; try again later")
                    .await;
            }
        };
        let proven = if self.dkim_needed() {
            let config = self.hub.config();
            let is_org = |a: &str| address::normalise(a).is_ok_and(|a| config.is_org_address(&a));
            let now = u64::try_from(self.hub.now().timestamp()).unwrap_or(0);
            let judged = match (&self.setup.dkim, &signed) {
                (Some(dkim), Some(signed)) => dkim.judge(signed, is_org, now).await,
                _ => Err(
                    "451 4.3.0 The hub could not check the DKIM signature; try again later".into(),
                ),
            };
            match judged {
                Ok(proven) => Some(proven),
                Err(reply) => {
                    let _ = std::fs::remove_file(&path);
                    tracing::warn!(peer = %self.peer, reply, "a message failed DKIM");
                    return self.refuse(&reply).await;
                }
            }
        } else {
            None
        };
        let caller = Caller {
            ip: format!("{} (smtp)", canonical(self.peer.ip())),
            ..Caller::default()
        };
        let reply = receive(
            &self.hub,
            &self.setup,
            Arrived {
                path: path.clone(),
                digest,
                size: received,
                mail_from,
                recipients,
                routed,
                proven,
            },
            &caller,
        )
        .await;
        let _ = std::fs::remove_file(&path);
        self.reply(&reply).await
    }
}

/// The reply to a command smtp-proto could not parse.
fn refusal(e: smtp_proto::Error) -> String {
    use smtp_proto::Error as E;
    match e {
        E::UnknownCommand => "500 5.5.1 Unknown command".into(),
        E::SyntaxError { syntax } => format!("501 5.5.4 Syntax: {syntax}"),
        E::InvalidSenderAddress => "501 5.1.7 The sender's address is not valid".into(),
        E::InvalidRecipientAddress => "501 5.1.3 The recipient's address is not valid".into(),
        E::InvalidParameter { param } => format!("501 5.5.4 The parameter {param} is not valid"),
        E::UnsupportedParameter { param } => {
            format!("504 5.5.4 The parameter {param} is not supported")
        }
        E::ResponseTooLong => "500 5.5.2 Line too long".into(),
        _ => "500 5.5.2 Syntax error".into(),
    }
}

/// The message being received, written sealed to the master key on a blocking thread,
/// with the SHA-256 of its plaintext. Dropped before [`Spool::finish`] (a refused or
/// broken message), it removes its file once the writer has stopped.
struct Spool {
    chunks: Option<tokio::sync::mpsc::Sender<Vec<u8>>>,
    writer: Option<tokio::task::JoinHandle<io::Result<Spooled>>>,
    path: PathBuf,
}

impl Spool {
    /// With `hashing`, the body hashes DKIM signatures ask for are computed on the way.
    fn start(hub: &Arc<Hub>, hashing: bool) -> io::Result<Self> {
        let dir = hub.dir.spool();
        crate::config::private_dir(&dir)?;
        let path = dir.join(format!(
            "{}.age",
            crate::crypto::new_id(hub.entropy.as_ref(), "in_")
        ));
        let file = crate::config::private_file()
            .write(true)
            .create_new(true)
            .open(&path)?;
        let key = hub.master.public();
        let (chunks, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(8);
        let writer = tokio::task::spawn_blocking(move || {
            let mut sealed = key
                .sealing_writer(io::BufWriter::new(file))
                .map_err(io::Error::other)?;
            let mut digest = Sha256::new();
            let mut body_hashing = hashing.then(dkim::BodyHashing::default);
            while let Some(chunk) = rx.blocking_recv() {
                digest.update(&chunk);
                if let Some(hashing) = &mut body_hashing {
                    hashing.write(&chunk);
                }
                sealed.write_all(&chunk)?;
            }
            sealed.finish()?.flush()?;
            Ok((
                digest.finalize().into(),
                body_hashing.map(dkim::BodyHashing::finish),
            ))
        });
        Ok(Self {
            chunks: Some(chunks),
            writer: Some(writer),
            path,
        })
    }

    async fn write(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        let chunks = self.chunks.as_ref().expect("BUG: written after finish");
        chunks
            .send(chunk)
            .await
            .map_err(|_| io::Error::other("the spool writer stopped"))
    }

    /// The spool's path, the SHA-256 of the message and, when hashing, what its DKIM
    /// signatures need.
    async fn finish(mut self) -> io::Result<(PathBuf, [u8; 32], Option<Signed>)> {
        self.chunks = None;
        let writer = self.writer.take().expect("BUG: finished twice");
        let spooled = writer
            .await
            .map_err(|e| io::Error::other(format!("the spool writer failed: {e}")))?;
        match spooled {
            Ok((digest, signed)) => Ok((self.path.clone(), digest, signed)),
            Err(e) => {
                let _ = std::fs::remove_file(&self.path);
                Err(e)
            }
        }
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        self.chunks = None;
        if let Some(writer) = self.writer.take() {
            let path = self.path.clone();
            tokio::spawn(async move {
                let _ = writer.await;
                let _ = std::fs::remove_file(path);
            });
        }
    }
}

/// What the spool writer returns: the message's SHA-256, and its DKIM inputs if asked.
type Spooled = ([u8; 32], Option<Signed>);
/// A message's header and DKIM body hashes.
type Signed = Result<dkim::Signed, dkim::HeaderTooLarge>;

/// A message whose DATA has arrived, spooled.
struct Arrived {
    path: PathBuf,
    /// SHA-256 of its bytes.
    digest: [u8; 32],
    /// How many bytes it has.
    size: u64,
    mail_from: String,
    /// The envelope's recipients.
    recipients: Vec<String>,
    /// Whether one came under the routing domain.
    routed: bool,
    /// What its DKIM signature proved, when that is what proves it: every recipient must
    /// then be named in the signed To: or Cc:, and the receipt goes to its signed From:.
    proven: Option<dkim::Proven>,
}

/// What the walk of the spool found.
#[derive(Default)]
struct Collected {
    text: Option<String>,
    html: Option<String>,
    uploads: Vec<String>,
    /// Bytes of the uploads, together.
    bytes: u64,
    /// The upload that is a detached S/MIME signature, if any.
    signature: Option<String>,
}

/// The name under which a message signed as a whole is kept, byte for byte, for its
/// recipient to check the signature in a mail program.
const SIGNED_COPY: &str = "signed-message.eml";

struct Collector<'h> {
    hub: &'h Hub,
    found: Collected,
}

impl mime::Sink for Collector<'_> {
    fn body(&mut self, html: bool, text: String) -> Result<(), mime::MimeError> {
        if html {
            self.found.html = Some(text);
        } else {
            self.found.text = Some(text);
        }
        Ok(())
    }

    fn attachment(
        &mut self,
        name: &str,
        content_type: &str,
        bytes: &mut dyn io::Read,
    ) -> Result<(), mime::MimeError> {
        let max = self.hub.config().limits.max_attachments as usize;
        if self.found.uploads.len() >= max {
            let total = self.hub.config().limits.max_attachment_bytes;
            return Err(mime::MimeError::TooLarge(format!(
                "A secure message may carry at most {max} attachments and {} in total",
                sealpost_proto::text::megabytes(total)
            )));
        }
        let upload = self
            .hub
            .store_org_upload_blocking(name, content_type, bytes)
            .map_err(|e| match e {
                Error::AttachmentLimit {
                    max_files,
                    max_total_bytes,
                } => mime::MimeError::TooLarge(format!(
                    "A secure message may carry at most {max_files} attachments and {} in total",
                    sealpost_proto::text::megabytes(max_total_bytes)
                )),
                other => mime::MimeError::Io(io::Error::other(other.to_string())),
            })?;
        if matches!(
            content_type,
            "application/pkcs7-signature" | "application/x-pkcs7-signature"
        ) {
            self.found.signature = Some(upload.upload_id.clone());
        }
        self.found.bytes += upload.size;
        self.found.uploads.push(upload.upload_id);
        Ok(())
    }
}

/// Keeps a message signed as a whole (S/MIME) as it arrived, in place of its detached
/// signature, so that the recipient can check the signature: the text and attachments
/// taken from it stay as they are, to read without a mail program. When the copy would
/// pass the hub's attachment limits, the signature file stays instead. Returns the
/// signature's upload, to discard.
fn keep_signed(
    hub: &Hub,
    path: &std::path::Path,
    size: u64,
    found: &mut Collected,
) -> io::Result<Option<String>> {
    let limits = &hub.config().limits;
    let (files, bytes) = match &found.signature {
        Some(_) => (found.uploads.len(), found.bytes),
        None => (found.uploads.len() + 1, found.bytes),
    };
    if files > limits.max_attachments as usize || bytes + size > limits.max_attachment_bytes {
        tracing::info!("a signed message is too large to keep whole; its signature is kept");
        return Ok(None);
    }
    let plain = hub
        .master
        .open_stream(std::fs::File::open(path)?)
        .map_err(io::Error::other)?;
    let mut plain = io::BufReader::with_capacity(64 * 1024, plain);
    let copy = hub
        .store_org_upload_blocking(SIGNED_COPY, "message/rfc822", &mut plain)
        .map_err(|e| io::Error::other(e.to_string()))?;
    found.uploads.push(copy.upload_id);
    let signature = found.signature.take();
    if let Some(signature) = &signature {
        found.uploads.retain(|u| u != signature);
    }
    Ok(signature)
}

/// Reads the spooled message and sends it; returns the reply for the gateway.
async fn receive(hub: &Arc<Hub>, setup: &Listener, arrived: Arrived, caller: &Caller) -> String {
    let Arrived {
        path,
        digest,
        size,
        mail_from,
        recipients,
        routed,
        proven,
    } = arrived;
    let digest = &digest;
    let (reader_hub, path) = (hub.clone(), path.to_owned());
    let walked = tokio::task::spawn_blocking(move || {
        let sealed = std::fs::File::open(&path)?;
        let plain = reader_hub
            .master
            .open_stream(sealed)
            .map_err(io::Error::other)?;
        let mut collector = Collector {
            hub: &reader_hub,
            found: Collected::default(),
        };
        let envelope = mime::read(
            io::BufReader::with_capacity(64 * 1024, plain),
            &mut collector,
        );
        let mut found = collector.found;
        let mut replaced = None;
        // A Bcc: left in the header by the sender's program would show in the copy.
        if envelope.as_ref().is_ok_and(|e| e.signed && !e.bcc) {
            replaced = keep_signed(&reader_hub, &path, size, &mut found).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "a signed message could not be kept whole");
                None
            });
        }
        Ok::<_, io::Error>((envelope, found, replaced))
    })
    .await;
    let (envelope, found) = match walked {
        Ok(Ok((envelope, found, replaced))) => {
            if let Some(signature) = replaced {
                hub.discard_uploads(&[AttachmentFile::Upload(signature)])
                    .await;
            }
            (envelope, found)
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "a spooled message could not be read");
            return "451 4.3.0 The hub could not read the message just now; try again later".into();
        }
        Err(e) => {
            tracing::error!(error = %e, "reading a spooled message failed");
            return "451 4.3.0 The hub could not read the message just now; try again later".into();
        }
    };
    let uploads: Vec<AttachmentFile> = found
        .uploads
        .iter()
        .cloned()
        .map(AttachmentFile::Upload)
        .collect();
    let refuse = |reply: String| async {
        hub.discard_uploads(&uploads).await;
        reply
    };
    let envelope = match envelope {
        Ok(envelope) => envelope,
        Err(mime::MimeError::Refused(why)) => return refuse(format!("554 5.6.0 {why}")).await,
        Err(mime::MimeError::TooLarge(why)) => return refuse(format!("552 5.3.4 {why}")).await,
        Err(mime::MimeError::Io(e)) => {
            tracing::error!(error = %e, "a spooled message could not be read");
            return refuse(
                "451 4.3.0 The hub could not read the message just now; try again later".into(),
            )
            .await;
        }
    };
    if envelope.traced || envelope.received > MAX_HOPS {
        return refuse(
            "554 5.4.6 Routing loop detected: the message has passed through a Sealpost hub or \
             too many relays already"
                .into(),
        )
        .await;
    }
    let config = hub.config();
    let Some(from) = envelope.from.first().cloned() else {
        return refuse("550 5.7.1 The message has no From: address".into()).await;
    };
    if let Some(outsider) = envelope
        .from
        .iter()
        .find(|a| !address::normalise(a).is_ok_and(|a| config.is_org_address(&a)))
    {
        return refuse(format!(
            "550 5.7.1 From: <{}> is not an address of the organisation: secure mail \
             is sent from staff addresses",
            address::shown(outsider)
        ))
        .await;
    }
    let tag = &setup.config.subject_tag;
    let (subject, tagged) = strip_tag(&envelope.subject, tag);
    if !tagged && !routed {
        return refuse(format!(
            "550 5.7.1 The message is not marked secure: put {tag} in its subject{}",
            setup
                .config
                .routing_domain
                .as_ref()
                .map(|d| format!(" or send it to addresses under .{d}"))
                .unwrap_or_default()
        ))
        .await;
    }
    let strip_route = |list: &[String]| -> Vec<String> {
        list.iter()
            .map(|a| {
                let lower = a.to_ascii_lowercase();
                match &setup.config.routing_domain {
                    Some(d) => lower
                        .strip_suffix(&format!(".{}", d.to_ascii_lowercase()))
                        .map(str::to_owned)
                        .unwrap_or_else(|| a.clone()),
                    None => a.clone(),
                }
            })
            .collect()
    };
    if let Some(proven) = &proven {
        // What was signed is what is sent: the From: the reader sees is the one signed.
        if envelope.from.len() != 1 || !address::same(&envelope.from[0], &proven.from) {
            return refuse(
                "550 5.7.1 DKIM: the message's From: is not the one its signature covers".into(),
            )
            .await;
        }
        // A signature covers the headers, not the envelope: someone holding a signed
        // message could otherwise send it on to recipients of their choosing.
        let named: Vec<String> = strip_route(&envelope.to)
            .into_iter()
            .chain(strip_route(&envelope.cc))
            .filter_map(|a| address::normalise(&a).ok())
            .collect();
        if let Some(unnamed) = recipients.iter().find(|r| !named.contains(r)) {
            return refuse(format!(
                "550 5.7.1 <{}> is not in the message's signed To: or Cc:; a message \
                 proven by DKIM cannot have Bcc recipients",
                address::shown(unnamed)
            ))
            .await;
        }
    }
    // A retry of the same message (the gateway never saw the 250) is answered with the
    // first one's receipt: the same Message-ID, sender and recipients.
    // Without a Message-ID, the message's own bytes tell a retry.
    let id = envelope
        .message_id
        .clone()
        .unwrap_or_else(|| format!("sha256:{}", hex::encode(digest)));
    let client_ref = {
        let mut sorted = recipients.clone();
        sorted.sort();
        // A message proven by DKIM is known by its signature, whoever relays it again.
        let key = match &proven {
            Some(p) => Sha256::digest([&p.key[..], b"\n", sorted.join(",").as_bytes()].concat()),
            None => Sha256::digest(format!("{id}\n{mail_from}\n{}", sorted.join(","))),
        };
        Some(format!("smtp:{}", hex::encode(key)))
    };
    // Line ends as the API keeps them (LF), whatever the wire carried.
    let body_text = match (found.text, &found.html) {
        (Some(text), _) => text,
        (None, Some(html)) => mail_parser::decoders::html::html_to_text(html),
        (None, None) => String::new(),
    }
    .replace("\r\n", "\n");
    let body_html = found.html.map(|h| h.replace("\r\n", "\n"));
    let internal: Vec<String> = recipients
        .iter()
        .filter(|r| config.is_org_address(r))
        .cloned()
        .collect();
    // To the envelope's sender, as a bounce would go: the address the gateway vouched for;
    // under DKIM, the signed From: (an unproven sender chooses the envelope).
    let receipt_to = proven.map_or_else(|| mail_from.clone(), |p| p.from);
    let message_id = envelope.message_id.clone();
    let message = OrgMessage {
        from,
        to: strip_route(&envelope.to),
        cc: strip_route(&envelope.cc),
        subject,
        body_text,
        body_html,
        attachments: uploads.clone(),
        keep_days: None,
        client_ref,
        envelope: Some(recipients),
    };
    match hub.send_org_message(message, caller).await {
        Ok(receipt) => {
            if setup.config.receipts && !receipt.repeated {
                let not_copied: Vec<(String, String)> = internal
                    .into_iter()
                    .map(|a| {
                        (
                            a,
                            "an organisation address: it gets your email as usual, not a \
                             secure copy"
                                .to_owned(),
                        )
                    })
                    .collect();
                let email = crate::mail::templates::gateway_receipt(
                    &config.org_name,
                    message_id.as_deref(),
                    hub.now(),
                    &receipt.delivered_to,
                    &not_copied,
                );
                // The message is sent: a receipt that cannot be queued is only logged.
                if let Err(e) = hub.queue_email(&receipt_to, "receipt", email).await {
                    tracing::warn!(error = %e, "the sender's receipt could not be queued");
                }
            }
            format!("250 2.0.0 Ok: sent securely as {}", receipt.id)
        }
        Err(e) => {
            let reply = match e {
                Error::SenderNotAllowed(from) => {
                    format!(
                        "550 5.7.1 <{}> is not an address of the organisation",
                        address::shown(&from)
                    )
                }
                Error::AttachmentLimit {
                    max_files,
                    max_total_bytes,
                } => format!(
                    "552 5.3.4 A secure message may carry at most {max_files} attachments and {} \
                     in total",
                    sealpost_proto::text::megabytes(max_total_bytes)
                ),
                Error::BadRequest(why) | Error::Conflict(why) => format!("550 5.6.0 {why}"),
                fault => {
                    tracing::error!(error = %fault, "a message from the gateway could not be sent");
                    "451 4.3.0 The hub could not store the message just now; try again later".into()
                }
            };
            refuse(reply).await
        }
    }
}

/// The subject without `tag` (any case, ASCII letters folded; a tag that is not ASCII is
/// matched exactly), and whether it was there. Positions are found in the subject itself,
/// so that no cut falls inside a character.
fn strip_tag(subject: &str, tag: &str) -> (String, bool) {
    let tidy = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    if tag.trim().is_empty() {
        return (tidy(subject), false);
    }
    let found = if tag.is_ascii() {
        subject
            .as_bytes()
            .windows(tag.len())
            .position(|w| w.eq_ignore_ascii_case(tag.as_bytes()))
    } else {
        subject.find(tag)
    };
    match found {
        // An ASCII match starts and ends on character boundaries.
        Some(at) => (
            tidy(&format!("{}{}", &subject[..at], &subject[at + tag.len()..])),
            true,
        ),
        None => (tidy(subject), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_is_found_in_any_case_and_taken_out() {
        assert_eq!(
            strip_tag("[SECURE] Referral for Mrs Jones", "[secure]"),
            ("Referral for Mrs Jones".into(), true)
        );
        assert_eq!(
            strip_tag("RE: Referral [secure]", "[secure]"),
            ("RE: Referral".into(), true)
        );
        assert_eq!(
            strip_tag("Referral", "[secure]"),
            ("Referral".into(), false)
        );
        // Characters whose lower case is shorter or longer than they are.
        assert_eq!(strip_tag("Ω[secure]İ", "[secure]"), ("Ωİ".into(), true));
        assert_eq!(
            strip_tag("İİ [Secure] Ωx", "[secure]"),
            ("İİ Ωx".into(), true)
        );
    }
}
