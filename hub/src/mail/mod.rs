//! Email out: notifications, lockout notices and reset links. Through the configured SMTP
//! relay (lettre), or, with none, as `.eml` files in the data directory's `outbox/`.

pub mod templates;

use std::{fs, io::Write, path::PathBuf};

use lettre::{
    address::Envelope,
    message::{
        header::{ContentTransferEncoding, ContentType},
        Body, Mailbox,
    },
    transport::smtp::authentication::Credentials,
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};

use crate::config::{DataDir, HubConfig, SmtpTls};
use crate::error::{Error, Result};

/// Where email goes.
enum Transport {
    /// Written as files: no relay configured.
    Outbox(PathBuf),
    /// Sent through the relay.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
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
                let builder = match smtp.tls {
                    SmtpTls::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                    }
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host),
                    SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                        &smtp.host,
                    )),
                }
                .map_err(|e| {
                    Error::Other(format!("SMTP relay {} cannot be used: {e}", smtp.host))
                })?;
                let port = smtp.port.unwrap_or(match smtp.tls {
                    SmtpTls::Starttls => 587,
                    SmtpTls::Tls => 465,
                    SmtpTls::None => 25,
                });
                let mut builder = builder.port(port);
                if let (Some(user), Some(password)) = (&smtp.user, &smtp.password) {
                    builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
                }
                Transport::Smtp(builder.build())
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
            .header(ContentType::TEXT_PLAIN)
            .body(plain_body(text))
            .map_err(|e| Error::Other(format!("an email could not be built: {e}")))?;
        Ok(message.formatted())
    }

    /// Delivers one composed email to its envelope recipients. `name` names the file in
    /// outbox mode.
    pub async fn deliver(
        &self,
        recipients: &[String],
        raw: &[u8],
        name: &str,
    ) -> Result<(), DeliveryError> {
        match &self.transport {
            Transport::Outbox(dir) => write_outbox(dir, raw, name).map_err(|e| DeliveryError {
                message: format!("the outbox folder could not be written: {e}"),
                permanent: false,
            }),
            Transport::Smtp(smtp) => {
                let to = recipients
                    .iter()
                    .map(|r| r.parse())
                    .collect::<Result<Vec<lettre::Address>, _>>()
                    .map_err(|_| DeliveryError {
                        message: "a recipient is not a valid address".into(),
                        permanent: true,
                    })?;
                let envelope = Envelope::new(Some(self.from.email.clone()), to).map_err(|e| {
                    DeliveryError {
                        message: e.to_string(),
                        permanent: true,
                    }
                })?;
                smtp.send_raw(&envelope, raw)
                    .await
                    .map(|_| ())
                    .map_err(|e| DeliveryError {
                        permanent: e.is_permanent(),
                        message: format!("the organisation's mail server answered: {e}"),
                    })
            }
        }
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
fn write_outbox(dir: &std::path::Path, raw: &[u8], name: &str) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = fs::File::create(&tmp)?;
    file.write_all(raw)?;
    file.sync_all()?;
    fs::rename(&tmp, dir.join(format!("{name}.eml")))
}
