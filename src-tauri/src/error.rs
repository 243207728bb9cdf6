//! The one place client errors become what the UI receives: `{code, message}` plus the
//! details a screen needs (refused addresses, the end of a lockout, failed password rules).

use sealpost_client::{ClientError, Code};
use serde::Serialize;

/// An error as the UI sees it.
#[derive(Debug, Serialize, specta::Type)]
pub struct UiError {
    code: Code,
    message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    refused: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locked_until: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    rules_failed: Vec<String>,
}

impl UiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            refused: Vec::new(),
            locked_until: None,
            rules_failed: Vec::new(),
        }
    }
}

impl From<ClientError> for UiError {
    fn from(e: ClientError) -> Self {
        let mut ui = UiError::new(e.code(), capitalised(&e.to_string()));
        match e {
            ClientError::Hub { detail, .. } => {
                ui.refused = detail.refused.unwrap_or_default();
                ui.locked_until = detail.locked_until;
                ui.rules_failed = detail.rules_failed.unwrap_or_default();
            }
            ClientError::Refused { refused, .. } => ui.refused = refused,
            _ => {}
        }
        ui
    }
}

/// Core messages start lower-case (they read well after "error:" in the CLI); the app
/// shows them as sentences.
pub fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl UiError {
    /// The sentence the person reads.
    pub fn message_text(&self) -> String {
        self.message.clone()
    }
}

pub type UiResult<T> = Result<T, UiError>;
