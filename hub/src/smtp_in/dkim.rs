//! DKIM (RFC 6376) with DMARC alignment (RFC 7489) as a gateway's proof that a message is
//! the organisation's: its mail service signs what staff send with the organisation's key,
//! so a message signed by that domain, aligned with its `From:`, came through it.
//!
//! The body hash is computed while the message is spooled ([`BodyHashing`]), so that a
//! 100 MB message is never held whole; mail-auth (Stalwart's) then checks the header
//! signature against the key published in DNS and evaluates DMARC alignment. Lookups go
//! through [`DnsCache`], which keeps answers for their TTL and which tests preload.

use std::{
    borrow::Borrow,
    collections::HashMap,
    hash::Hash,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sealpost_proto::address::shown;

use mail_auth::{
    common::{
        crypto::{HashAlgorithm, HashContext, HashImpl, Sha1, Sha256},
        parse::TxtRecordParser,
        verify::DomainKey,
    },
    dkim::{canonicalize::BodyHasher, Canonicalization},
    dmarc::{verify::DmarcParameters, Dmarc},
    hickory_resolver::{
        config::{NameServerConfig, ResolverConfig, ResolverOpts},
        proto::op::ResponseCode,
    },
    AuthenticatedMessage, DkimResult, DmarcResult, DnsError, MessageAuthenticator, Parameters,
    ResolverCache, SpfOutput, Txt,
};

/// The most header bytes kept to check a signature: beyond, the message cannot be proven
/// by DKIM (real headers are a few KB; ARC and trace lines add tens).
const MAX_HEADER_BYTES: usize = 1024 * 1024;
/// The most DNS answers kept.
const MAX_CACHED: usize = 10_000;

type Context = <Sha256 as HashImpl>::Context;

/// The header of a spooled message and the body hashes its DKIM signatures ask for.
pub struct Signed {
    /// The header section, through the blank line that ends it.
    headers: Vec<u8>,
    /// As [`AuthenticatedMessage::body_hashes`] lists them for `headers`.
    body_hashes: Vec<(Canonicalization, HashAlgorithm, u64, Vec<u8>)>,
    /// SHA-256 of the body as it came: which of the signatures is checked, the body is
    /// the same.
    body_digest: Vec<u8>,
    /// Whether the body has a CR or LF not in a CRLF pair: DKIM's body hash cannot see
    /// those (RFC 6376 3.4.4 reads line ends loosely), while they change how the MIME
    /// reader cuts the parts.
    bare_line_break: bool,
}

/// A header section longer than [`MAX_HEADER_BYTES`]: no signature in it is checked.
#[derive(Debug)]
pub struct HeaderTooLarge;

/// Hashes a message's body for its DKIM signatures as its bytes go by.
pub struct BodyHashing {
    state: State,
    body_digest: Context,
    /// The last body byte was a CR.
    after_cr: bool,
    bare_line_break: bool,
}

enum State {
    /// The header section so far, and how much of it was searched for its end.
    Headers { bytes: Vec<u8>, searched: usize },
    Body {
        headers: Vec<u8>,
        hashers: Vec<(Canonicalization, HashAlgorithm, u64, BodyHasher<Context>)>,
    },
    /// A header section too large to keep.
    Unreadable,
}

impl Default for BodyHashing {
    fn default() -> Self {
        Self {
            state: State::Headers {
                bytes: Vec::new(),
                searched: 0,
            },
            body_digest: Sha256::hasher(),
            after_cr: false,
            bare_line_break: false,
        }
    }
}

/// The body hashers the DKIM signatures of `headers` need.
fn hashers_for(headers: &[u8]) -> Vec<(Canonicalization, HashAlgorithm, u64, BodyHasher<Context>)> {
    let Some(message) = AuthenticatedMessage::parse(headers) else {
        return Vec::new();
    };
    message
        .body_hashes
        .iter()
        .map(|(cb, ha, l, _)| {
            let context = match ha {
                HashAlgorithm::Sha1 => Sha1::hasher(),
                HashAlgorithm::Sha256 => Sha256::hasher(),
            };
            (*cb, *ha, *l, BodyHasher::new(context, *cb, *l))
        })
        .collect()
}

impl BodyHashing {
    /// Takes the next bytes of the message (as DATA carries it, dots unstuffed).
    pub fn write(&mut self, mut chunk: &[u8]) {
        if let State::Headers { bytes, searched } = &mut self.state {
            bytes.extend_from_slice(chunk);
            let from = searched.saturating_sub(3);
            match bytes[from..].windows(4).position(|w| w == b"\r\n\r\n") {
                Some(at) => {
                    let end = from + at + 4;
                    let consumed = chunk.len() - (bytes.len() - end);
                    bytes.truncate(end);
                    let headers = std::mem::take(bytes);
                    chunk = &chunk[consumed..];
                    self.state = State::Body {
                        hashers: hashers_for(&headers),
                        headers,
                    };
                }
                None if bytes.len() > MAX_HEADER_BYTES => {
                    self.state = State::Unreadable;
                    return;
                }
                None => {
                    *searched = bytes.len();
                    return;
                }
            }
        }
        if let State::Body { hashers, .. } = &mut self.state {
            for (_, _, _, hasher) in hashers {
                hasher.write(chunk);
            }
            self.body_digest.update(chunk);
            if !self.bare_line_break {
                for &b in chunk {
                    if (b == b'\n') != self.after_cr {
                        self.bare_line_break = true;
                        break;
                    }
                    self.after_cr = b == b'\r';
                }
            }
        }
    }

    /// The header and the body hashes.
    pub fn finish(self) -> Result<Signed, HeaderTooLarge> {
        let (headers, hashers) = match self.state {
            State::Unreadable => return Err(HeaderTooLarge),
            // A message that is all header: its body is empty.
            State::Headers { bytes, .. } => {
                let hashers = hashers_for(&bytes);
                (bytes, hashers)
            }
            State::Body { headers, hashers } => (headers, hashers),
        };
        let body_hashes = hashers
            .into_iter()
            .map(|(cb, ha, l, hasher)| (cb, ha, l, hasher.finish().0.complete().as_ref().to_vec()))
            .collect();
        Ok(Signed {
            headers,
            body_hashes,
            body_digest: self.body_digest.finish().as_ref().to_vec(),
            bare_line_break: self.bare_line_break || self.after_cr,
        })
    }
}

/// DNS answers (DKIM keys, DMARC records) kept until their TTL runs out, as mail-auth's
/// resolver cache. Tests publish records here, so that no lookup leaves the machine.
#[derive(Default)]
pub struct DnsCache {
    entries: Mutex<HashMap<Box<str>, (Txt, Instant)>>,
}

impl DnsCache {
    /// Publishes a TXT record for a day: a DKIM key when `name` is under `_domainkey.`, a
    /// DMARC policy when it starts `_dmarc.`.
    ///
    /// # Errors
    /// A name of neither kind, or a record that does not parse as its kind.
    pub fn publish(&self, name: &str, record: &str) -> Result<(), String> {
        let fqdn = fqdn(name);
        let txt = if fqdn.contains("._domainkey.") {
            Txt::from(DomainKey::parse(record.as_bytes()).map_err(|e| format!("{name}: {e}"))?)
        } else if fqdn.starts_with("_dmarc.") {
            Txt::Dmarc(Arc::new(
                Dmarc::parse(record.as_bytes()).map_err(|e| format!("{name}: {e}"))?,
            ))
        } else {
            return Err(format!("{name}: neither a DKIM key nor a DMARC record"));
        };
        self.insert(
            fqdn.into(),
            txt,
            Instant::now() + Duration::from_secs(86_400),
        );
        Ok(())
    }

    /// Records that `name` does not exist (NXDOMAIN) for a day.
    pub fn publish_none(&self, name: &str) {
        self.insert(
            fqdn(name).into(),
            Txt::Error(mail_auth::Error::Dns(DnsError::RecordNotFound(
                ResponseCode::NXDomain,
            ))),
            Instant::now() + Duration::from_secs(86_400),
        );
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, (Txt, Instant)>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A name as mail-auth looks it up: lower case, with the root's dot.
fn fqdn(name: &str) -> String {
    let mut fqdn = name.to_ascii_lowercase();
    if !fqdn.ends_with('.') {
        fqdn.push('.');
    }
    fqdn
}

impl ResolverCache<Box<str>, Txt> for DnsCache {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut entries = self.lock();
        match entries.get(name) {
            Some((txt, until)) if *until > Instant::now() => Some(txt.clone()),
            Some(_) => {
                entries.remove(name);
                None
            }
            None => None,
        }
    }

    fn remove<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.lock().remove(name).map(|(txt, _)| txt)
    }

    fn insert(&self, key: Box<str>, value: Txt, valid_until: Instant) {
        let mut entries = self.lock();
        if entries.len() >= MAX_CACHED {
            let now = Instant::now();
            entries.retain(|_, (_, until)| *until > now);
            if entries.len() >= MAX_CACHED {
                entries.clear();
            }
        }
        entries.insert(key, (value, valid_until));
    }
}

/// DKIM checking for the listener: a resolver and its cache.
pub struct Dkim {
    authenticator: MessageAuthenticator,
    cache: DnsCache,
}

impl Dkim {
    /// A checker resolving through `servers` (`ip` or `ip:port`), or the system's resolvers
    /// (`/etc/resolv.conf`) when there are none.
    ///
    /// # Errors
    /// A server that is not an address, or a system configuration that cannot be read.
    pub fn new(servers: &[String]) -> Result<Self, String> {
        let authenticator = if servers.is_empty() {
            MessageAuthenticator::new_system_conf().map_err(|e| {
                format!(
                    "smtp_in.dkim: the system's DNS resolvers could not be read ({e}); set \
                     smtp_in.dns_servers"
                )
            })?
        } else {
            let mut name_servers = Vec::new();
            for server in servers {
                let address: std::net::SocketAddr = server
                    .parse()
                    .or_else(|_| server.parse().map(|ip| std::net::SocketAddr::new(ip, 53)))
                    .map_err(|_| {
                        format!("smtp_in.dns_servers: {server:?} is not an address (ip or ip:port)")
                    })?;
                let mut config = NameServerConfig::udp_and_tcp(address.ip());
                for connection in &mut config.connections {
                    connection.port = address.port();
                }
                name_servers.push(config);
            }
            let mut options = ResolverOpts::default();
            options.timeout = Duration::from_secs(5);
            MessageAuthenticator::new(ResolverConfig::from_name_servers(name_servers), options)
                .map_err(|e| format!("smtp_in.dns_servers: {e}"))?
        };
        Ok(Self {
            authenticator,
            cache: DnsCache::default(),
        })
    }

    /// The cache lookups go through (tests publish their records in it).
    pub fn dns(&self) -> &DnsCache {
        &self.cache
    }

    /// Whether the message proves itself the organisation's: a DKIM signature by the
    /// domain of its `From:` (or an organisation domain above it) that verifies, that
    /// DMARC aligns with `From:` under that domain's policy (RFC 7489; the same domain when
    /// it publishes none), made within two days of `now` (its `t=`, or the `Date:` it covers), with `rsa-sha256` or `ed25519-sha256`
    /// (RFC 8301 retires `rsa-sha1`), and covering every field that says who the message is
    /// from and to and what it is: `From`, `Subject`, and `To`, `Cc`, `Content-Type`,
    /// `MIME-Version`, `Content-Transfer-Encoding`, `Reply-To`, `Sender` when present. The header must read the
    /// same to every parser: CRLF line ends only, strict field names, one of each of those
    /// fields. `is_org` tells an organisation address; `now` is seconds since 1970.
    ///
    /// # Errors
    /// The SMTP reply: 550 5.7.1 with the reason, or 451 4.7.5 when a lookup failed or
    /// took too long.
    pub async fn judge(
        &self,
        signed: &Result<Signed, HeaderTooLarge>,
        is_org: impl Fn(&str) -> bool,
        now: u64,
    ) -> Result<Proven, String> {
        let refuse = |why: &str| Err(format!("550 5.7.1 DKIM: {why}"));
        let Ok(signed) = signed else {
            return refuse("the message's header is too large to check its signature");
        };
        let headers = &signed.headers;
        let bare = headers.iter().enumerate().any(|(i, &b)| {
            (b == b'\n' && (i == 0 || headers[i - 1] != b'\r'))
                || (b == b'\r' && headers.get(i + 1) != Some(&b'\n'))
        });
        if bare {
            return refuse(
                "the message's header has a line break without its CR or LF (RFC 5322 2.3)",
            );
        }
        if signed.bare_line_break {
            return refuse(
                "the message's body has a line break without its CR or LF (RFC 5322 2.3)",
            );
        }
        if headers.split(|&b| b == b'\n').any(|line| line.len() > 1000) {
            return refuse(
                "a line of the message's header is over 998 characters (RFC 5322 2.1.1)",
            );
        }
        let Some(mut message) = AuthenticatedMessage::parse(headers) else {
            return refuse("the message has no header, so no signature");
        };
        if message.body_offset() != headers.len() {
            return refuse("the message's header has a line that is not a header field");
        }
        let strict = |name: &[u8]| {
            !name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b) && b != b':')
        };
        if let Some((name, _)) = message.headers.iter().find(|(name, _)| !strict(name)) {
            return refuse(&format!(
                "the header field name {:?} is not valid (RFC 5322 3.6.8)",
                shown(&String::from_utf8_lossy(name))
            ));
        }
        let count = |field: &str| {
            message
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(field.as_bytes()))
                .count()
        };
        if let Some(twice) = ONCE.iter().find(|f| count(f) > 1) {
            return refuse(&format!("the message has more than one {twice}: field"));
        }
        let from = match message.from.as_slice() {
            [from] => from.clone(),
            [] => return refuse("the message has no From: address"),
            _ => return refuse("the message's From: names more than one address"),
        };
        if !is_org(&from) {
            return Err(format!(
                "550 5.7.1 From: <{}> is not an address of the organisation: secure mail is \
                 sent from staff addresses",
                shown(&from)
            ));
        }
        let from_domain = from.rsplit_once('@').map_or("", |(_, d)| d).to_owned();
        // Only the organisation's own signatures are worth a lookup: this bounds what an
        // unproven sender can make the hub look up to the organisation's names.
        let ours = |d: &str| {
            let d = d.to_ascii_lowercase();
            d == from_domain
                || (from_domain.ends_with(&format!(".{d}")) && is_org(&format!("postmaster@{d}")))
        };
        let signers: Vec<String> = message
            .dkim_headers
            .iter()
            .map(|h| h.header.d.clone())
            .collect();
        message.dkim_headers.retain(|h| {
            ours(&h.header.d) && HashAlgorithm::from(h.header.a) == HashAlgorithm::Sha256
        });
        message.dkim_headers.truncate(MAX_SIGNATURES);
        for h in &mut message.dkim_headers {
            // No report addresses or third-party lookups for a message being judged.
            h.header.r = false;
            h.header.atps = None;
        }
        let unusable = message
            .has_dkim_errors
            .then(|| message.errors.first().map(|e| e.header.to_string()))
            .flatten();
        message.errors.clear();
        if message.dkim_headers.is_empty() {
            return match signers.first() {
                None if unusable.is_some() => refuse(&format!(
                    "the message's signature cannot be used: {}",
                    unusable.unwrap_or_default()
                )),
                None => Err(
                    "550 5.7.1 The message carries no DKIM signature, and this session did \
                     not prove it is the organisation's gateway by certificate or AUTH"
                        .into(),
                ),
                Some(_) if signers.iter().any(|d| ours(d)) => refuse(
                    "the organisation's signature uses rsa-sha1, which is no longer \
                     accepted (RFC 8301): sign with rsa-sha256",
                ),
                Some(other) => Err(format!(
                    "550 5.7.1 DKIM: the message is signed by {}, which is not aligned with \
                     its From: domain {}",
                    shown(other),
                    shown(&from_domain)
                )),
            };
        }
        if message.body_hashes.len() != signed.body_hashes.len()
            || message
                .body_hashes
                .iter()
                .zip(&signed.body_hashes)
                .any(|(a, b)| (a.0, a.1, a.2) != (b.0, b.1, b.2))
        {
            return Err("451 4.3.0 The hub could not check the DKIM signature; try again".into());
        }
        message.body_hashes.clone_from(&signed.body_hashes);
        let lookup_failed = || {
            format!(
                "451 4.7.5 The DKIM key or DMARC policy of {} could not be looked up just \
                 now; try again later",
                shown(&from_domain)
            )
        };
        let checked = tokio::time::timeout(LOOKUPS_WITHIN, async {
            let outputs = self
                .authenticator
                .verify_dkim(Parameters::new(&message).with_txt_cache(&self.cache))
                .await;
            let spf = SpfOutput::new(from_domain.clone());
            let dmarc = self
                .authenticator
                .verify_dmarc(
                    Parameters::new(DmarcParameters::new(&message, &outputs, &from_domain, &spf))
                        .with_txt_cache(&self.cache),
                )
                .await;
            (outputs, dmarc)
        })
        .await;
        let Ok((outputs, dmarc)) = checked else {
            return Err(lookup_failed());
        };
        let passed: Vec<&mail_auth::dkim::Signature> = outputs
            .iter()
            .filter(|o| *o.result() == DkimResult::Pass)
            .filter_map(|o| o.signature())
            .collect();
        match dmarc.dkim_result() {
            DmarcResult::Pass => {}
            // The domain publishes no DMARC policy: its own signature, strictly.
            DmarcResult::None
                if !dmarc.domain().is_empty()
                    && passed
                        .iter()
                        .any(|s| s.d.eq_ignore_ascii_case(&from_domain)) => {}
            DmarcResult::TempError(_) => return Err(lookup_failed()),
            _ => {
                if !passed.is_empty() {
                    return refuse(&format!(
                        "the signature is not aligned with the From: domain {} under its \
                         DMARC policy",
                        shown(&from_domain)
                    ));
                }
                if outputs
                    .iter()
                    .any(|o| matches!(o.result(), DkimResult::TempError(_)))
                {
                    return Err(lookup_failed());
                }
                let why = outputs
                    .iter()
                    .find_map(|o| match o.result() {
                        DkimResult::Fail(e) | DkimResult::Neutral(e) | DkimResult::PermError(e) => {
                            Some(format!(
                                "the signature of {} did not verify: {e}",
                                o.signature().map_or("the sender".into(), |s| shown(&s.d))
                            ))
                        }
                        _ => None,
                    })
                    .unwrap_or_else(|| "no signature verified".into());
                return refuse(&why);
            }
        }
        let present = |field: &str| count(field) > 0;
        let covers = |s: &mail_auth::dkim::Signature| {
            COVERED.iter().all(|(field, always)| {
                !(*always || present(field)) || s.h.iter().any(|h| h.eq_ignore_ascii_case(field))
            })
        };
        // When it was signed: its t=, or else the Date: it covers.
        let value = |field: &str| {
            message
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(field.as_bytes()))
                .map(|(_, v)| *v)
        };
        let dated = value("Date").and_then(|v| {
            match mail_parser::parsers::MessageStream::new(v).parse_date() {
                mail_parser::HeaderValue::DateTime(d) => u64::try_from(d.to_timestamp()).ok(),
                _ => None,
            }
        });
        let signed_at = |s: &mail_auth::dkim::Signature| match s.t {
            0 if s.h.iter().any(|h| h.eq_ignore_ascii_case("Date")) => dated,
            0 => None,
            t => Some(t),
        };
        let fresh = |s: &mail_auth::dkim::Signature| {
            signed_at(s).is_some_and(|t| t + MAX_AGE_SECONDS >= now && t <= now + MAX_AGE_SECONDS)
        };
        if !passed.iter().any(|s| covers(s)) {
            return refuse(
                "the signature does not cover From:, To:, Cc:, Subject:, Reply-To:, Sender: \
                 and the MIME fields the message has, so it cannot be proven as it is; sign \
                 them",
            );
        }
        if !passed.iter().any(|s| covers(s) && fresh(s)) {
            return refuse(
                "the signature's time (its t=, or the Date: it covers) is missing or more \
                 than two days from now: a message is relayed when it is sent",
            );
        }
        // A message is known by its body and the fields every passing signature had to
        // cover: the same whichever signature is checked, and whoever relays it again.
        let mut key = Sha256::hasher();
        key.update(&signed.body_digest);
        for (field, _) in COVERED {
            if let Some(v) = value(field) {
                key.update(field.as_bytes());
                key.update(b":");
                key.update(v);
            }
        }
        Ok(Proven {
            from: sealpost_proto::address::normalise(&from).unwrap_or(from),
            key: key.finish().as_ref().to_vec(),
        })
    }
}

/// What a DKIM check proved.
#[derive(Debug, Clone)]
pub struct Proven {
    /// The `From:` address it is aligned with (normalised).
    pub from: String,
    /// SHA-256 of its body and signed fields: a message relayed again has the same.
    pub key: Vec<u8>,
}

/// Fields a message may carry once (RFC 5322 3.6) that the checks rely on.
const ONCE: [&str; 11] = [
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "Content-Type",
    "MIME-Version",
    "Content-Transfer-Encoding",
];

/// Fields the passing signature must cover: always, or when the message has them.
const COVERED: [(&str, bool); 9] = [
    ("From", true),
    ("Subject", true),
    ("To", false),
    ("Cc", false),
    ("Reply-To", false),
    ("Sender", false),
    ("Content-Type", false),
    ("MIME-Version", false),
    ("Content-Transfer-Encoding", false),
];

/// The most signatures of the organisation's checked on one message.
const MAX_SIGNATURES: usize = 5;
/// How far from now a signature's time may be: a gateway relays a message when it is sent,
/// and retries for a day or two at most.
const MAX_AGE_SECONDS: u64 = 2 * 86_400;
/// How long the lookups of one message may take together.
const LOOKUPS_WITHIN: Duration = Duration::from_secs(30);

impl std::fmt::Debug for Dkim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dkim").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message with signatures asking for each canonicalisation and hash: only their
    /// tags matter here, not whether they verify.
    fn message(body: &str) -> Vec<u8> {
        let signature = |c: &str, a: &str| {
            format!(
                "DKIM-Signature: v=1; a={a}; c={c}; d=example.gov.uk; s=s1;\r\n \
                 h=from:to:subject; bh=AAAA; b=AAAA\r\n"
            )
        };
        format!(
            "{}{}{}From: a@example.gov.uk\r\nTo: b@partner.example\r\nSubject: x\r\n\r\n{body}",
            signature("relaxed/relaxed", "rsa-sha256"),
            signature("simple/simple", "rsa-sha256"),
            signature("relaxed/simple", "rsa-sha1"),
        )
        .into_bytes()
    }

    fn streamed(bytes: &[u8], piece: usize) -> Vec<Vec<u8>> {
        let mut hashing = BodyHashing::default();
        for chunk in bytes.chunks(piece) {
            hashing.write(chunk);
        }
        let signed = hashing.finish().unwrap();
        assert_eq!(
            signed.headers,
            bytes[..signed.headers.len()],
            "the header section, through its blank line"
        );
        signed.body_hashes.into_iter().map(|h| h.3).collect()
    }

    #[test]
    fn body_hashes_streamed_in_any_pieces_are_those_of_the_whole_message() {
        let bodies = [
            String::new(),
            "Hello\r\n".into(),
            "Trailing  spaces \t\r\n\r\n\r\n\r\n".into(),
            "No final line break".into(),
            " Lines\r\n\r\n  with   runs of\t\twhite space \r\n".repeat(5_000),
        ];
        for body in bodies {
            let bytes = message(&body);
            let whole = AuthenticatedMessage::parse(&bytes).unwrap();
            assert_eq!(whole.body_hashes.len(), 3);
            let expected: Vec<Vec<u8>> = whole.body_hashes.iter().map(|h| h.3.clone()).collect();
            // Pieces of one byte split every CRLF and the header's end.
            for piece in [1, 2, 3, 7, 64, 4096, bytes.len()] {
                assert_eq!(streamed(&bytes, piece), expected, "{piece}-byte pieces");
            }
        }
    }

    #[test]
    fn a_lone_cr_or_lf_in_the_body_is_seen_in_any_pieces() {
        for (body, bare) in [
            ("one\r\ntwo\r\n", false),
            ("one\ntwo\r\n", true),
            ("one\rtwo\r\n", true),
            ("one\r\ntwo\r", true),
            ("one\r\r\ntwo", true),
        ] {
            let bytes = message(body);
            for piece in [1, 2, 5, bytes.len()] {
                let mut hashing = BodyHashing::default();
                for chunk in bytes.chunks(piece) {
                    hashing.write(chunk);
                }
                assert_eq!(hashing.finish().unwrap().bare_line_break, bare, "{body:?}");
            }
        }
    }

    #[test]
    fn a_header_too_large_to_keep_is_said_as_such() {
        let mut hashing = BodyHashing::default();
        let line = format!("X-Filler: {}\r\n", "x".repeat(998));
        for _ in 0..(MAX_HEADER_BYTES / line.len() + 2) {
            hashing.write(line.as_bytes());
        }
        hashing.write(b"\r\nbody\r\n");
        assert!(hashing.finish().is_err());
    }
}
