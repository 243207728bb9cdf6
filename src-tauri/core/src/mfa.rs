//! Two-step sign-in on this side: what an authenticator app needs to enrol, as a QR code
//! (SVG for the window, Unicode blocks for a terminal) and as text.

use qrcode::render::{svg, unicode};
use qrcode::QrCode;
use serde::Serialize;

use crate::error::{ClientError, Code, Result};
use crate::mailbox::Mailbox;

/// An enrolment under way: scan `qr_svg` (or type `secret`) into the authenticator app,
/// then confirm with the code it shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Enrolment {
    /// The secret in base32, in groups of four for typing.
    pub secret: String,
    /// The `otpauth://totp/…` URI the QR code holds.
    pub otpauth_uri: String,
    /// The QR code as an SVG document (black on white, its own quiet zone).
    pub qr_svg: String,
}

fn qr(uri: &str) -> Result<QrCode> {
    QrCode::new(uri.as_bytes()).map_err(|e| ClientError::Refused {
        code: Code::Internal,
        message: format!("the QR code could not be made ({e}); type the secret instead"),
        refused: Vec::new(),
    })
}

/// The QR code of `uri` for a terminal: two rows of modules per line, light on dark
/// (terminals are mostly dark; phones read inverted codes, and the quiet zone is kept).
pub fn qr_for_terminal(uri: &str) -> Result<String> {
    Ok(qr(uri)?
        .render::<unicode::Dense1x2>()
        .dark_color(unicode::Dense1x2::Light)
        .light_color(unicode::Dense1x2::Dark)
        .build())
}

/// `secret` in groups of four, as authenticator apps show and take it.
fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

impl Mailbox {
    /// Starts turning two-step sign-in on; the password is asked again.
    ///
    /// # Errors
    /// The hub's refusal (a wrong password: `InvalidCredentials`; on already: `Invalid`),
    /// `Offline`, `SignInRequired`.
    pub async fn begin_mfa(&self, password: &str) -> Result<Enrolment> {
        let setup = self.hub.begin_mfa(password).await?;
        let qr_svg = qr(&setup.otpauth_uri)?
            .render::<svg::Color>()
            .min_dimensions(200, 200)
            .build();
        Ok(Enrolment {
            secret: grouped(&setup.secret),
            otpauth_uri: setup.otpauth_uri,
            qr_svg,
        })
    }

    /// Turns two-step sign-in on with the app's first code. Returns the ten recovery
    /// codes, to be shown once.
    pub async fn confirm_mfa(&self, code: &str) -> Result<Vec<String>> {
        self.hub.confirm_mfa(code.trim()).await
    }

    /// Turns two-step sign-in off with the password and a current code or an unused
    /// recovery code.
    pub async fn disable_mfa(&self, password: &str, code: &str) -> Result<()> {
        self.hub.disable_mfa(password, code.trim()).await
    }

    /// Whether two-step sign-in is on, and how many recovery codes are left.
    pub async fn mfa_state(&self) -> Result<sealpost_proto::MfaState> {
        self.hub.mfa_state().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_reads_in_fours_and_the_qr_code_is_drawn_both_ways() {
        assert_eq!(grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
        let uri = "otpauth://totp/Org:a%40b.example?secret=ABCDEFGHIJKLMNOP&issuer=Org";
        let text = qr_for_terminal(uri).unwrap();
        assert!(text.lines().count() > 10 && text.contains('█'));
        let svg = qr(uri).unwrap().render::<svg::Color>().build();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg"));
    }
}
