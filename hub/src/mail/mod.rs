//! Email out: notifications, lockout notices and reset links. Through the configured SMTP
//! relay (lettre), or, with none, as `.eml` files in the data directory's `outbox/`.

pub mod mime;
pub mod templates;

use std::{
    fs,
    io::{self, Read},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use lettre::{
    message::{
        header::{ContentTransferEncoding, ContentType},
        Body, Mailbox,
    },
    transport::smtp::{
        authentication::{Credentials, Mechanism},
        client::{AsyncSmtpConnection, TlsParameters},
        commands::{Data, Mail, Rcpt},
        extension::ClientId,
    },
    Message,
};

use crate::config::{DataDir, HubConfig, SmtpConfig, SmtpTls};
use crate::error::{Error, Result};

/// An email's RFC 5322 text, opened afresh for each pass over it (a check, then the
/// sending): a stream, so that an email of any size is never whole in memory.
pub type Content = Arc<dyn Fn() -> io::Result<Box<dyn Read + Send>> + Send + Sync>;

/// Where email goes.
enum Transport {
    /// Written as files: no relay configured.
    Outbox(PathBuf),
    /// Sent through the relay, a connection per email.
    Smtp(SmtpConfig),
}

/// Builds and delivers the hub's emails.
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl Mailer {
    /// A mailer for this hub's configuration.
    pub fn new(config: &HubConfig, dir: &DataDir) -> Result<Self> {
        let address = config.mail_from().parse().map_err(|_| {
            Error::Other(format!(
                "mail_from {:?} is not an email address",
                config.mail_from()
            ))
        })?;
        let from = Mailbox::new(Some(config.org_name.clone()), address);
        let transport = match &config.smtp {
            None => Transport::Outbox(dir.outbox()),
            Some(smtp) => {
                if smtp.tls != SmtpTls::None {
                    TlsParameters::new(smtp.host.clone()).map_err(|e| {
                        Error::Other(format!("SMTP relay {} cannot be used: {e}", smtp.host))
                    })?;
                }
                Transport::Smtp(smtp.clone())
            }
        };
        Ok(Self { from, transport })
    }

    /// The full RFC 5322 text of a plain-text email from the hub.
    pub fn compose(&self, to: &str, subject: &str, text: String) -> Result<Vec<u8>> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| Error::BadRequest(format!("{to} is not an email address")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(Trace::of(&self.from))
            .header(ContentType::TEXT_PLAIN)
            .body(plain_body(text))
            .map_err(|e| Error::Other(format!("an email could not be built: {e}")))?;
        Ok(message.formatted())
    }

    /// Delivers one email to its envelope recipients, streaming it from `content`. `name`
    /// names the file in outbox mode.
    pub async fn deliver(
        &self,
        recipients: &[String],
        content: Content,
        name: &str,
    ) -> Result<(), DeliveryError> {
        match &self.transport {
            Transport::Outbox(dir) => {
                let (dir, name) = (dir.clone(), name.to_owned());
                tokio::task::spawn_blocking(move || write_outbox(&dir, content()?, &name))
                    .await
                    .map_err(io::Error::other)
                    .and_then(|r| r)
                    .map_err(|e| DeliveryError {
                        message: format!("the outbox folder could not be written: {e}"),
                        permanent: false,
                    })
            }
            Transport::Smtp(smtp) => {
                let to = recipients
                    .iter()
                    .map(|r| r.parse())
                    .collect::<Result<Vec<lettre::Address>, _>>()
                    .map_err(|_| DeliveryError {
                        message: "a recipient is not a valid address".into(),
                        permanent: true,
                    })?;
                // Read it whole once (without keeping it) before the relay is told anything:
                // a file that cannot be read must not go out cut short.
                let check = content.clone();
                tokio::task::spawn_blocking(move || io::copy(&mut check()?, &mut io::sink()))
                    .await
                    .map_err(io::Error::other)
                    .and_then(|r| r)
                    .map_err(|e| DeliveryError {
                        message: format!("the email could not be read: {e}"),
                        permanent: true,
                    })?;
                send_smtp(smtp, &self.from.email, &to, &content)
                    .await
                    .map_err(|e| DeliveryError {
                        permanent: e.is_permanent(),
                        message: format!("the organisation's mail server answered: {e}"),
                    })
            }
        }
    }
}

/// Sends one email over its own connection to the relay: TLS as configured, AUTH when a
/// user is set, then the text streamed in chunks through lettre's SMTP client (which does
/// the dot-stuffing). Every email the hub writes is 7-bit (headers and parts are encoded),
/// so no SMTP extension is needed.
async fn send_smtp(
    smtp: &SmtpConfig,
    from: &lettre::Address,
    to: &[lettre::Address],
    content: &Content,
) -> Result<(), SendError> {
    let port = smtp.port.unwrap_or(match smtp.tls {
        SmtpTls::Starttls => 587,
        SmtpTls::Tls => 465,
        SmtpTls::None => 25,
    });
    let hello = ClientId::default();
    let wrapped = match smtp.tls {
        SmtpTls::Tls => Some(TlsParameters::new(smtp.host.clone())?),
        _ => None,
    };
    let mut conn = AsyncSmtpConnection::connect_tokio1(
        (smtp.host.as_str(), port),
        Some(Duration::from_secs(60)),
        &hello,
        wrapped,
        None,
    )
    .await?;
    if smtp.tls == SmtpTls::Starttls {
        conn.starttls(TlsParameters::new(smtp.host.clone())?, &hello)
            .await?;
    }
    if let (Some(user), Some(password)) = (&smtp.user, &smtp.password) {
        let credentials = Credentials::new(user.clone(), password.clone());
        conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
            .await?;
    }
    conn.command(Mail::new(Some(from.clone()), vec![])).await?;
    for recipient in to {
        conn.command(Rcpt::new(recipient.clone(), vec![])).await?;
    }
    conn.command(Data).await?;
    let mut chunks = Chunks {
        reader: content().map_err(SendError::Read)?,
        failed: None,
    };
    conn.message_iter(&mut chunks).await?;
    let _ = conn.quit().await;
    if let Some(e) = chunks.failed {
        // Read whole a moment ago, it failed while it was sent: the relay has accepted
        // part of it. Said loudly; the Sent copy says it failed.
        tracing::error!(error = %e, "an email could not be read while it was sent");
        return Err(SendError::Read(e));
    }
    Ok(())
}

/// Why `send_smtp` failed.
#[derive(Debug, thiserror::Error)]
enum SendError {
    /// The relay refused, or the connection failed.
    #[error(transparent)]
    Smtp(#[from] lettre::transport::smtp::Error),
    /// The email could not be read.
    #[error("the email could not be read: {0}")]
    Read(io::Error),
}

impl SendError {
    /// Whether trying again cannot help.
    fn is_permanent(&self) -> bool {
        match self {
            Self::Smtp(e) => e.is_permanent(),
            Self::Read(_) => true,
        }
    }
}

/// An email's text in chunks of 64 KiB, as lettre's SMTP client takes it.
struct Chunks {
    reader: Box<dyn Read + Send>,
    failed: Option<io::Error>,
}

impl Iterator for Chunks {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        let mut chunk = vec![0u8; 64 * 1024];
        let mut filled = 0;
        while filled < chunk.len() {
            match self.reader.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.failed = Some(e);
                    break;
                }
            }
        }
        chunk.truncate(filled);
        (filled > 0).then_some(chunk)
    }
}

/// Why an email did not go out.
#[derive(Debug, Clone)]
pub struct DeliveryError {
    /// What happened, in words (no content).
    pub message: String,
    /// The server refused for good (5xx): retrying will not help.
    pub permanent: bool,
}

/// ASCII text with lines under RFC 5322's 998-octet limit goes as 7bit, so that each link
/// stays whole on its own line (lettre would quoted-printable-encode lines over 76
/// characters, splitting long links). Anything else gets lettre's automatic encoding.
fn plain_body(text: String) -> Body {
    if text.is_ascii() && text.lines().all(|l| l.len() <= 998) {
        let crlf = text.lines().collect::<Vec<_>>().join("\r\n") + "\r\n";
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit)
    } else {
        Body::new(text)
    }
}

/// Writes the file under a temporary name first, so readers never see half an email.
fn write_outbox(dir: &std::path::Path, mut raw: impl Read, name: &str) -> std::io::Result<()> {
    crate::config::private_dir(dir)?;
    let tmp = dir.join(format!(".{name}.tmp"));
    // Owner-only: an email may carry a working registration or reset link.
    let mut file = crate::config::private_file()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)?;
    io::copy(&mut raw, &mut file)?;
    file.sync_all()?;
    fs::rename(&tmp, dir.join(format!("{name}.eml")))
}

/// The header every email the hub sends carries ([`crate::smtp_in::mime::TRACE_HEADER`]):
/// should one come back through the organisation's gateway to the SMTP listener, it is
/// refused as a loop. Its value is the hub's sender domain.
#[derive(Debug, Clone)]
pub struct Trace(String);

impl Trace {
    /// The trace of the hub sending from `from`.
    pub fn of(from: &Mailbox) -> Self {
        Self(from.email.domain().to_owned())
    }
}

impl lettre::message::header::Header for Trace {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str(crate::smtp_in::mime::TRACE_HEADER)
    }

    fn parse(s: &str) -> std::result::Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}
