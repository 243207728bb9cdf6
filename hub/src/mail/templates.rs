//! The hub's emails. None of them carries a message's subject, body or attachment names:
//! only that something is waiting, who runs the hub, and a link where one is needed.

use chrono::{DateTime, Utc};

/// Subject and plain-text body of an email.
pub struct Email {
    /// Subject line.
    pub subject: String,
    /// Plain-text body; links stand alone on their own lines.
    pub text: String,
}

fn human(t: DateTime<Utc>) -> String {
    t.format("%-d %B %Y at %H:%M UTC").to_string()
}

/// "a secure message", "3 secure messages".
fn messages(count: u32) -> String {
    match count {
        1 => "a secure message".to_owned(),
        n => format!("{n} secure messages"),
    }
}

/// "it" or "them", for `count` messages.
fn them(count: u32) -> &'static str {
    if count == 1 {
        "it"
    } else {
        "them"
    }
}

/// Mail waits for someone without an account: register to read it. `count` messages
/// arrived since the last email.
pub fn invitation(org: &str, link: &str, expires: DateTime<Utc>, count: u32) -> Email {
    Email {
        subject: format!("{org} has sent you {}", messages(count)),
        text: format!(
            "{org} has sent you {} through Sealpost.\n\
             \n\
             To read {them}, register by choosing a password at this address:\n\
             \n\
             {link}\n\
             \n\
             The link works once and until {}. Then open the Sealpost app and sign in with\n\
             this email address and your password.\n\
             \n\
             This email does not contain {}. If you were not expecting\n\
             it, you can ignore it.\n",
            messages(count),
            human(expires),
            if count == 1 {
                "the message itself"
            } else {
                "the messages themselves"
            },
            them = them(count),
        ),
    }
}

/// New mail for someone who has registered: `count` messages since the last email.
pub fn new_message(org: &str, count: u32) -> Email {
    let subject = match count {
        1 => format!("New secure message from {org}"),
        n => format!("{n} new secure messages from {org}"),
    };
    Email {
        subject,
        text: format!(
            "You have {} from {org} waiting.\n\
             \n\
             Open the Sealpost app and sign in to read {}.\n\
             \n\
             This email does not contain {}.\n",
            match count {
                1 => "a new secure message".to_owned(),
                n => format!("{n} new secure messages"),
            },
            them(count),
            if count == 1 {
                "the message itself"
            } else {
                "the messages themselves"
            }
        ),
    }
}

/// The account was locked after failed sign-ins.
pub fn locked(org: &str, until: DateTime<Utc>, reset_link: &str) -> Email {
    Email {
        subject: format!("Your {org} secure messages account is locked"),
        text: format!(
            "Someone tried to sign in to your {org} secure messages account with a wrong\n\
             password several times, so sign-in is locked until {}.\n\
             \n\
             If it was you and you have forgotten your password, choose a new one here; doing\n\
             so also unlocks the account:\n\
             \n\
             {reset_link}\n\
             \n\
             The link works once, for a limited time. If it was not you, your messages are\n\
             safe: the password was not accepted. You may still want to choose a new password.\n",
            human(until)
        ),
    }
}

/// A person without an account here is invited to work the shared mailbox `mailbox`:
/// they choose their own password through `link`.
pub fn delegate_invitation(org: &str, mailbox: &str, link: &str, expires: DateTime<Utc>) -> Email {
    Email {
        subject: format!("You are invited to work {mailbox} in {org} secure messages"),
        text: format!(
            "You have been given access to the shared mailbox {mailbox} in {org} secure\n\
             messages, under your own name.\n\
             \n\
             To accept, choose your own password at this address:\n\
             \n\
             {link}\n\
             \n\
             The link works once and until {}. Then open the Sealpost app and sign in with\n\
             this email address (yours, not the shared one) and your password: the shared\n\
             mailbox appears beside your own.\n\
             \n\
             This email does not contain any message. If you were not expecting it, you can\n\
             ignore it.\n",
            human(expires)
        ),
    }
}

/// A person who has an account here was given access to the shared mailbox `mailbox`.
pub fn delegate_added(org: &str, mailbox: &str) -> Email {
    Email {
        subject: format!("You can now work {mailbox} in {org} secure messages"),
        text: format!(
            "You have been given access to the shared mailbox {mailbox} in {org} secure\n\
             messages, under your own name.\n\
             \n\
             Sign in to Sealpost with your own address and password as usual: the shared\n\
             mailbox appears beside your own. What you do in it is recorded under your name.\n"
        ),
    }
}

/// A person's access to the shared mailbox `mailbox` was taken away.
pub fn delegate_removed(org: &str, mailbox: &str) -> Email {
    Email {
        subject: format!("Your access to {mailbox} has ended"),
        text: format!(
            "Your access to the shared mailbox {mailbox} in {org} secure messages has been\n\
             taken away by its owner or the administrator. Sealpost deletes its copy from\n\
             your computers the next time they connect. Your own mailbox is not affected.\n\
             \n\
             If you think this is a mistake, ask the mailbox's owner.\n"
        ),
    }
}

/// The admin turned two-step sign-in off for the account.
pub fn mfa_reset(org: &str) -> Email {
    Email {
        subject: format!("Two-step sign-in was turned off for your {org} secure messages"),
        text: format!(
            "The administrator of {org} secure messages turned off two-step sign-in for your\n\
             account, as asked (a lost phone, say), and signed you out on every device.\n\
             \n\
             Sign in with your password, then turn two-step sign-in on again in Settings. If\n\
             you did not ask for this, tell {org} at once.\n"
        ),
    }
}

/// The account turned two-step sign-in off itself.
pub fn mfa_turned_off(org: &str) -> Email {
    Email {
        subject: format!("Two-step sign-in is off for your {org} secure messages"),
        text: format!(
            "Two-step sign-in was turned off for your {org} secure messages account, with\n\
             its password and a code. Signing in now needs the password only.\n\
             \n\
             If this was not you, someone has your password and your phone's codes: choose a\n\
             new password now (Forgot password in Sealpost) and tell {org}.\n"
        ),
    }
}

/// Sign-in locked after wrong two-step codes: the password was right, so someone else
/// knows it.
pub fn locked_after_codes(org: &str, until: DateTime<Utc>, reset_link: &str) -> Email {
    Email {
        subject: format!("Your {org} secure messages account is locked"),
        text: format!(
            "Someone signed in to your {org} secure messages account with the right password\n\
             but wrong two-step codes several times, so sign-in is locked until {}.\n\
             \n\
             If it was not you, someone knows your password: choose a new one now (this also\n\
             unlocks the account). Your messages are safe: the codes were not accepted.\n\
             \n\
             {reset_link}\n\
             \n\
             The link works once, for a limited time.\n",
            human(until)
        ),
    }
}

/// A password-reset link.
pub fn reset(org: &str, link: &str, minutes: i64) -> Email {
    Email {
        subject: format!("Choose a new password for your {org} secure messages"),
        text: format!(
            "A new password was requested for your {org} secure messages account.\n\
             \n\
             Choose it here (the link works once, for {minutes} minutes):\n\
             \n\
             {link}\n\
             \n\
             Choosing a new password signs out every device and unlocks the account.\n\
             If you did not ask for this, ignore this email; your password stays as it is.\n"
        ),
    }
}

/// A reset was asked for an address that has mail waiting but never registered.
pub fn register_instead(org: &str, link: &str, expires: DateTime<Utc>) -> Email {
    Email {
        subject: format!("Register to read your secure messages from {org}"),
        text: format!(
            "A password was requested for this address, but it has not been registered yet.\n\
             {org} has secure messages waiting for you. Register by choosing a password here:\n\
             \n\
             {link}\n\
             \n\
             The link works once and until {}.\n",
            human(expires)
        ),
    }
}

/// What became of a message a member of staff sent through the mail gateway: who has it
/// waiting as a secure message, and who got no secure copy and why. Named by its
/// Message-ID and time, never its subject.
pub fn gateway_receipt(
    org: &str,
    message_id: Option<&str>,
    at: DateTime<Utc>,
    notified: &[String],
    not_copied: &[(String, String)],
) -> Email {
    let mut text = format!(
        "Your email{} of {} went out through {org}'s secure messages.\n\n",
        message_id.map(|id| format!(" <{id}>")).unwrap_or_default(),
        human(at)
    );
    if !notified.is_empty() {
        text.push_str(
            "These recipients have it waiting as a secure message, and are emailed a notice\n\
             (with a link to register, for anyone new):\n\n",
        );
        for address in notified {
            text.push_str(&format!("  {address}\n"));
        }
        text.push('\n');
    }
    if !not_copied.is_empty() {
        text.push_str("These got no secure copy:\n\n");
        for (address, why) in not_copied {
            text.push_str(&format!("  {address}: {why}\n"));
        }
        text.push('\n');
    }
    text.push_str("This receipt does not contain your message.\n");
    Email {
        subject: match notified.len() {
            1 => "Sent securely: 1 recipient".to_owned(),
            n => format!("Sent securely: {n} recipients"),
        },
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_messages_are_spoken_of_in_the_plural() {
        let one = new_message("Clinic", 1).text;
        assert!(
            one.contains("a new secure message from Clinic waiting"),
            "{one}"
        );
        assert!(
            one.contains("to read it.") && one.contains("the message itself"),
            "{one}"
        );
        let many = new_message("Clinic", 20).text;
        assert!(many.contains("20 new secure messages"), "{many}");
        assert!(
            many.contains("to read them.") && many.contains("the messages themselves"),
            "{many}"
        );

        let expires = DateTime::from_timestamp(0, 0).unwrap();
        let many = invitation("Clinic", "https://hub/register?token=x", expires, 3).text;
        assert!(many.contains("sent you 3 secure messages"), "{many}");
        assert!(many.contains("To read them,"), "{many}");
        let one = invitation("Clinic", "https://hub/register?token=x", expires, 1).text;
        assert!(one.contains("To read it,"), "{one}");
    }
}
