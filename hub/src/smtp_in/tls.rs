//! STARTTLS for the listener (rustls, with ring), and the judgement of a gateway's client
//! certificate.
//!
//! The handshake asks for a client certificate and checks only that the client holds its
//! key; whether the certificate is the gateway's (it chains to `client_ca`, its SHA-256 is
//! among `client_cert_sha256`) is judged afterwards, so that a wrong one is refused with an
//! SMTP reply that says why, not a broken handshake.

use std::sync::Arc;

use rustls::{
    client::danger::HandshakeSignatureValid,
    crypto::CryptoProvider,
    pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer, UnixTime},
    server::{
        danger::{ClientCertVerified, ClientCertVerifier},
        WebPkiClientVerifier,
    },
    DigitallySignedStruct, DistinguishedName, SignatureScheme,
};
use sha2::{Digest, Sha256};

use super::config::{parse_sha256, SmtpInConfig};

/// rustls on ring, which the workspace builds already (object_store signs with it); the
/// aws-lc-rs provider, whose default adds post-quantum key exchange, is a C build the
/// workspace avoids. Deprecated in rustls 0.23.48 for that reason only.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the acceptor for `config`'s certificate and key.
pub fn acceptor(config: &SmtpInConfig) -> Result<tokio_rustls::TlsAcceptor, String> {
    let provider = provider();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&config.tls_cert)
        .and_then(|certs| certs.collect())
        .map_err(|e| format!("smtp_in.tls_cert {}: {e}", config.tls_cert))?;
    if certs.is_empty() {
        return Err(format!(
            "smtp_in.tls_cert {} holds no PEM certificate",
            config.tls_cert
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&config.tls_key)
        .map_err(|e| format!("smtp_in.tls_key {}: {e}", config.tls_key))?;
    let asks = config.client_ca.is_some() || !config.client_cert_sha256.is_empty();
    let verifier: Arc<dyn ClientCertVerifier> = if asks {
        Arc::new(HoldsItsKey(provider.clone()))
    } else {
        WebPkiClientVerifier::no_client_auth()
    };
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS for smtp_in: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => format!(
                "smtp_in.tls_key {} is not the key of the certificate in tls_cert {}",
                config.tls_key, config.tls_cert
            ),
            e => format!("smtp_in.tls_cert and tls_key: {e}"),
        })?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(server)))
}

/// Judges the client certificate a gateway presented: `Ok` when it is the gateway's,
/// else why not (for the SMTP reply).
pub struct Judge {
    chain: Option<Arc<dyn ClientCertVerifier>>,
    pins: Vec<[u8; 32]>,
    names: Vec<String>,
}

impl Judge {
    /// For `config`'s `client_ca` and `client_cert_sha256`.
    pub fn new(config: &SmtpInConfig) -> Result<Self, String> {
        let chain = match &config.client_ca {
            None => None,
            Some(path) => {
                let mut roots = rustls::RootCertStore::empty();
                let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                    .and_then(|certs| certs.collect())
                    .map_err(|e| format!("smtp_in.client_ca {path}: {e}"))?;
                for cert in certs {
                    roots
                        .add(cert)
                        .map_err(|e| format!("smtp_in.client_ca {path}: {e}"))?;
                }
                let provider = provider();
                Some(
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .map_err(|e| format!("smtp_in.client_ca {path}: {e}"))?,
                )
            }
        };
        Ok(Self {
            chain,
            pins: config
                .client_cert_sha256
                .iter()
                .filter_map(|p| parse_sha256(p))
                .collect(),
            names: config.client_cert_names.clone(),
        })
    }

    /// Whether `presented` (the end entity first) is the gateway's certificate.
    pub fn judge(&self, presented: Option<&[CertificateDer<'_>]>) -> Result<(), String> {
        let Some((end_entity, intermediates)) = presented.and_then(|c| c.split_first()) else {
            return Err("no client certificate was presented".into());
        };
        if let Some(chain) = &self.chain {
            chain
                .verify_client_cert(end_entity, intermediates, UnixTime::now())
                .map_err(|e| format!("the client certificate is not trusted ({e})"))?;
        }
        if !self.names.is_empty() {
            let cert = webpki::EndEntityCert::try_from(end_entity)
                .map_err(|e| format!("the client certificate cannot be read ({e})"))?;
            let named = self.names.iter().any(|name| {
                rustls::pki_types::ServerName::try_from(name.as_str())
                    .is_ok_and(|n| cert.verify_is_valid_for_subject_name(&n).is_ok())
            });
            if !named {
                return Err(
                    "the client certificate names none of smtp_in.client_cert_names".into(),
                );
            }
        }
        if !self.pins.is_empty() {
            let digest: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
            if !self.pins.contains(&digest) {
                return Err(format!(
                    "the client certificate (SHA-256 {}) is not among smtp_in.client_cert_sha256",
                    hex::encode(digest)
                ));
            }
        }
        Ok(())
    }
}

/// Asks for a client certificate, optionally, and checks only that the client holds its
/// key (the handshake's signature); [`Judge`] decides the rest.
#[derive(Debug)]
struct HoldsItsKey(Arc<CryptoProvider>);

impl ClientCertVerifier for HoldsItsKey {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
