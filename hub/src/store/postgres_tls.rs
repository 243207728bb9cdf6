//! TLS to the PostgreSQL server, set with libpq's URL parameters `sslmode` and
//! `sslrootcert` (PostgreSQL 15 documentation, 34.1.2 "Parameter Key Words" and 34.19
//! "SSL Support"), which the hub reads itself: tokio-postgres knows only `disable`,
//! `prefer` and `require`, and leaves checking the server's certificate to its connector.
//!
//! The hub checks the certificate whenever it uses TLS. `require` therefore behaves as
//! `verify-full` (the certificate chains to a trusted root and names the host), which is
//! stricter than libpq's `require` (encryption only); `verify-ca` checks the chain but
//! not the name. Trusted roots are the system's, or only the file `sslrootcert` names.
//! `disable`, `allow` and `prefer` (and no `sslmode`) connect without TLS.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// How connections are secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// No TLS.
    Off,
    /// TLS; the certificate must chain to a trusted root.
    VerifyCa,
    /// TLS; the certificate must chain to a trusted root and name the host.
    VerifyFull,
}

/// The TLS part of a store URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    /// From `sslmode`.
    pub mode: TlsMode,
    /// From `sslrootcert`: a PEM file of the roots to trust instead of the system's
    /// (`system`, or none, means the system's).
    pub root_cert: Option<PathBuf>,
}

/// Takes `sslmode` and `sslrootcert` out of a store URL (`postgres://…?sslmode=…` or the
/// `key=value` form); returns the rest, for tokio-postgres, and what they said.
///
/// # Errors
/// An `sslmode` libpq does not know, or a `sslrootcert` that is not valid UTF-8.
pub fn split_url(url: &str) -> Result<(String, TlsOptions)> {
    let mut mode = None;
    let mut root_cert = None;
    let mut take = |key: &str, value: &str| -> Result<bool> {
        match key {
            "sslmode" => mode = Some(value.to_owned()),
            "sslrootcert" => root_cert = Some(value.to_owned()),
            _ => return Ok(false),
        }
        Ok(true)
    };
    if let Some((_, after)) = url.split_once("://") {
        let authority = &after[..after.find(['/', '?']).unwrap_or(after.len())];
        if authority.matches('@').count() > 1 {
            // Which @ ends the password cannot be told: said without echoing any part.
            return Err(Error::Other(
                "the store URL has more than one @ before its host: percent-encode any @ in \
                 the user or password as %40 (and : / # ? % likewise)"
                    .into(),
            ));
        }
    }
    let rest = if url.contains("://") {
        match url.split_once('?') {
            None => url.to_owned(),
            Some((base, query)) => {
                let mut kept = Vec::new();
                for pair in query.split('&') {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    let value = percent_encoding::percent_decode_str(value)
                        .decode_utf8()
                        .map_err(|_| {
                            Error::Other(format!("the store URL's {key} is not valid UTF-8"))
                        })?;
                    if !take(key, &value)? {
                        kept.push(pair);
                    }
                }
                if kept.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
        }
    } else {
        let mut kept = Vec::new();
        for word in url.split_whitespace() {
            let (key, value) = word.split_once('=').unwrap_or((word, ""));
            if !take(key, value.trim_matches('\''))? {
                kept.push(word);
            }
        }
        kept.join(" ")
    };
    let mode = match mode.as_deref() {
        None | Some("disable" | "allow" | "prefer") => TlsMode::Off,
        Some("require" | "verify-full") => TlsMode::VerifyFull,
        Some("verify-ca") => TlsMode::VerifyCa,
        Some(other) => {
            return Err(Error::Other(format!(
                "sslmode={other} in the store URL is not one of disable, allow, prefer, \
                 require, verify-ca, verify-full"
            )))
        }
    };
    let root_cert = root_cert
        .filter(|r| !r.is_empty() && r != "system")
        .map(PathBuf::from);
    Ok((rest, TlsOptions { mode, root_cert }))
}

/// The connector for these options (one type whether TLS is on or not: with it off,
/// the connection's `sslmode` is `disable` and the connector is never asked).
///
/// # Errors
/// A root certificate file that cannot be read or holds no PEM certificate.
pub fn connector(options: &TlsOptions) -> Result<postgres_native_tls::MakeTlsConnector> {
    let mut builder = native_tls::TlsConnector::builder();
    if let Some(path) = &options.root_cert {
        let pem = std::fs::read(path).map_err(|e| {
            Error::Other(format!(
                "the store URL's sslrootcert {} cannot be read: {e}",
                path.display()
            ))
        })?;
        let root = native_tls::Certificate::from_pem(&pem).map_err(|e| {
            Error::Other(format!(
                "the store URL's sslrootcert {} is not a PEM certificate: {e}",
                path.display()
            ))
        })?;
        builder
            .disable_built_in_roots(true)
            .add_root_certificate(root);
    }
    if options.mode == TlsMode::VerifyCa {
        builder.danger_accept_invalid_hostnames(true);
    }
    let connector = builder
        .build()
        .map_err(|e| Error::Other(format!("TLS for the database: {e}")))?;
    Ok(postgres_native_tls::MakeTlsConnector::new(connector))
}

/// `url` without its password (`postgres://user@host/db`, or the `key=value` form without
/// `password=`), for writing where the password should not go.
pub fn without_password(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if let Some((userinfo, host)) = authority.rsplit_once('@') {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            return format!("{scheme}://{user}@{host}{tail}");
        }
        return url.to_owned();
    }
    url.split_whitespace()
        .filter(|w| !w.starts_with("password="))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_is_taken_out_of_either_url_form() {
        assert_eq!(
            without_password("postgres://hub:p%40ss@db.internal:5432/sealpost?sslmode=require"),
            "postgres://hub@db.internal:5432/sealpost?sslmode=require"
        );
        assert_eq!(
            without_password("postgres://hub@db.internal/sealpost"),
            "postgres://hub@db.internal/sealpost"
        );
        assert_eq!(
            without_password("host=db user=hub password=secret dbname=sealpost"),
            "host=db user=hub dbname=sealpost"
        );
    }

    #[test]
    fn ssl_parameters_are_taken_out_of_either_url_form() {
        let (rest, tls) = split_url(
            "postgres://hub@db.internal/sealpost?sslmode=verify-full&options=-csearch_path%3Dsp\
             &sslrootcert=%2Fetc%2Fsealpost%2Fdb%20ca.pem",
        )
        .unwrap();
        assert_eq!(
            rest,
            "postgres://hub@db.internal/sealpost?options=-csearch_path%3Dsp"
        );
        assert_eq!(tls.mode, TlsMode::VerifyFull);
        assert_eq!(
            tls.root_cert,
            Some(PathBuf::from("/etc/sealpost/db ca.pem"))
        );

        let (rest, tls) =
            split_url("host=db.internal user=hub sslmode=verify-ca sslrootcert='/etc/ca.pem'")
                .unwrap();
        assert_eq!(rest, "host=db.internal user=hub");
        assert_eq!(tls.mode, TlsMode::VerifyCa);
        assert_eq!(tls.root_cert, Some(PathBuf::from("/etc/ca.pem")));
    }

    #[test]
    fn require_checks_the_certificate_and_the_default_is_no_tls() {
        let mode = |url: &str| split_url(url).unwrap().1.mode;
        assert_eq!(mode("postgres://h/db?sslmode=require"), TlsMode::VerifyFull);
        assert_eq!(mode("postgres://h/db"), TlsMode::Off);
        assert_eq!(mode("postgres://h/db?sslmode=prefer"), TlsMode::Off);
        let (rest, tls) = split_url("postgres://h/db?sslmode=disable&sslrootcert=system").unwrap();
        assert_eq!((rest.as_str(), tls.root_cert), ("postgres://h/db", None));
    }

    #[test]
    fn an_unencoded_at_in_the_password_is_refused_without_echoing_it() {
        let e = split_url("postgres://hub:Summer@2026!x@db.internal/sealpost").unwrap_err();
        let said = e.to_string();
        assert!(said.contains("%40"), "{said}");
        assert!(!said.contains("2026") && !said.contains("Summer"), "{said}");
    }

    #[test]
    fn an_unknown_sslmode_is_named() {
        let e = split_url("postgres://h/db?sslmode=always").unwrap_err();
        assert!(e.to_string().contains("sslmode=always"), "{e}");
        assert!(e.to_string().contains("verify-full"), "{e}");
    }

    #[test]
    fn an_unreadable_root_certificate_is_named() {
        let e = connector(&TlsOptions {
            mode: TlsMode::VerifyFull,
            root_cert: Some("/nonexistent/ca.pem".into()),
        })
        .err()
        .unwrap();
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
    }
}
