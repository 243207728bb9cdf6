//! `[smtp_in]` of `hub.toml`: the listener the organisation's mail gateway relays secure
//! mail to, and who may use it.

use serde::{Deserialize, Serialize};

/// The SMTP listener for the organisation's gateway. Off unless this section is present.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SmtpInConfig {
    /// Address and port to listen on (`0.0.0.0:2525`, `127.0.0.1:0` in tests).
    pub listen: String,
    /// The name the listener gives in its greeting; defaults to `public_url`'s host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The listener's certificate chain (PEM) for STARTTLS, which every session needs.
    pub tls_cert: String,
    /// Its private key (PEM).
    pub tls_key: String,
    /// Mutual TLS: the authority (PEM) the gateway's client certificate must chain to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ca: Option<String>,
    /// Mutual TLS: the gateway certificates accepted, as SHA-256 fingerprints of their DER
    /// (hex, colons allowed). With `client_ca` too, a certificate must satisfy both.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_cert_sha256: Vec<String>,
    /// Mutual TLS: with `client_ca`, the certificate must also name one of these (a DNS
    /// name in its subjectAltName), so that only the gateway's certificates from that
    /// authority are taken, not every certificate it issued for client use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_cert_names: Vec<String>,
    /// SMTP AUTH (PLAIN or LOGIN, after STARTTLS only): the SHA-256 (hex) of each
    /// gateway's secret, made with `sealpost-hub admin smtp-in secret`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auth_secret_sha256: Vec<String>,
    /// DKIM with DMARC alignment as a proof (RFC 6376, RFC 7489): `off`; `accept`, a
    /// message signed by the `From:` domain's key is taken even from a session that proved
    /// nothing else; `require`, every message must be so signed, whatever else the session
    /// proved (Exchange Online: Microsoft's certificate proves Microsoft, the signature
    /// proves the tenant).
    #[serde(default, skip_serializing_if = "DkimUse::is_off")]
    pub dkim: DkimUse,
    /// DNS resolvers for DKIM keys and DMARC policies (`ip` or `ip:port`); the system's
    /// (`/etc/resolv.conf`) when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_servers: Vec<String>,
    /// An extra condition, never enough alone: the gateway's addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_ips: Vec<String>,
    /// A message whose subject carries this tag (anywhere, any case) is secure mail; the
    /// tag is taken out of the subject.
    #[serde(default = "default_tag")]
    pub subject_tag: String,
    /// Recipients written `alice@partner.org.<routing_domain>` are secure mail to
    /// `alice@partner.org`, whatever the subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_domain: Option<String>,
    /// The largest message taken, in bytes as it arrives (encoded attachments included).
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: u64,
    /// The most recipients of one message.
    #[serde(default = "default_max_recipients")]
    pub max_recipients: usize,
    /// Whether the sender gets a short email saying who was notified and who refused.
    #[serde(default = "default_true")]
    pub receipts: bool,
}

/// How `[smtp_in]` uses DKIM.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DkimUse {
    /// Not checked.
    #[default]
    Off,
    /// Enough alone: a message that passes is taken from any TLS session.
    Accept,
    /// Checked on every message, on top of the session's certificate or AUTH.
    Require,
}

impl DkimUse {
    fn is_off(&self) -> bool {
        *self == Self::Off
    }
}

/// The smallest `max_message_bytes`: room for a header and a short text.
const MIN_MESSAGE_BYTES: u64 = 10_000;

fn default_tag() -> String {
    "[secure]".into()
}

/// 75 MB of attachments, base64-encoded (4/3, plus line breaks), and room for the text.
fn default_max_message_bytes() -> u64 {
    105_000_000
}

fn default_max_recipients() -> usize {
    50
}

fn default_true() -> bool {
    true
}

impl SmtpInConfig {
    /// What is wrong with the section, if anything.
    pub fn validate(&self) -> Result<(), String> {
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(format!(
                "smtp_in.listen {:?} is not an address and port (0.0.0.0:2525)",
                self.listen
            ));
        }
        if !self.client_cert_names.is_empty() && self.client_ca.is_none() {
            return Err(
                "smtp_in.client_cert_names needs client_ca: the names are trusted only in a \
                 certificate that authority signed"
                    .into(),
            );
        }
        if self.client_ca.is_none()
            && self.client_cert_sha256.is_empty()
            && self.auth_secret_sha256.is_empty()
            && self.dkim.is_off()
        {
            return Err(
                "smtp_in names no way to prove a gateway is the organisation's: set \
                 client_ca or client_cert_sha256 (mutual TLS), auth_secret_sha256 (SMTP \
                 AUTH), or dkim; an IP allow-list alone is not enough (see the admin guide)"
                    .into(),
            );
        }
        if self.dkim == DkimUse::Require
            && self.client_ca.is_none()
            && self.client_cert_sha256.is_empty()
            && self.auth_secret_sha256.is_empty()
        {
            return Err(
                "smtp_in.dkim = \"require\" checks signatures on top of the gateway's \
                 certificate or AUTH, and none is set: set one, or use dkim = \"accept\""
                    .into(),
            );
        }
        if !self.dns_servers.is_empty() && self.dkim.is_off() {
            return Err("smtp_in.dns_servers is for DKIM, which is off: set dkim".into());
        }
        for pin in &self.client_cert_sha256 {
            if parse_sha256(pin).is_none() {
                return Err(format!(
                    "smtp_in.client_cert_sha256: {pin:?} is not a SHA-256 in hex (64 hex digits)"
                ));
            }
        }
        // Never said back: an entry that is not a digest may be the secret itself.
        if self
            .auth_secret_sha256
            .iter()
            .any(|d| parse_sha256(d).is_none())
        {
            return Err(
                "smtp_in.auth_secret_sha256: an entry is not a SHA-256 in hex (64 hex digits): \
                 put the digest `sealpost-hub admin smtp-in-secret` printed, not the secret"
                    .into(),
            );
        }
        for name in &self.client_cert_names {
            if rustls::pki_types::DnsName::try_from(name.as_str()).is_err() {
                return Err(format!(
                    "smtp_in.client_cert_names: {name:?} is not a DNS name"
                ));
            }
        }
        for ip in &self.allow_ips {
            if ip.parse::<std::net::IpAddr>().is_err() {
                return Err(format!("smtp_in.allow_ips: {ip:?} is not an IP address"));
            }
        }
        if self.subject_tag.trim().is_empty() && self.routing_domain.is_none() {
            return Err(
                "smtp_in needs a subject_tag or a routing_domain to tell secure mail".into(),
            );
        }
        if self.max_recipients == 0 {
            return Err("smtp_in.max_recipients must be at least 1".into());
        }
        if self.max_message_bytes < MIN_MESSAGE_BYTES {
            return Err(format!(
                "smtp_in.max_message_bytes must be at least {MIN_MESSAGE_BYTES}"
            ));
        }
        Ok(())
    }
}

/// A SHA-256 written in hex (colons and spaces allowed, any case).
pub fn parse_sha256(text: &str) -> Option<[u8; 32]> {
    let digits: String = text.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
    let bytes = hex::decode(digits).ok()?;
    bytes.try_into().ok()
}
