//! The terminal client's command line: what `--help` and the manual pages show. Kept apart
//! from `main.rs` so that `examples/manual.rs` renders the same definition as roff.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sealpost",
    version,
    about = "Read and send Sealpost secure messages from a terminal",
    long_about = "Read and send Sealpost secure messages from a terminal, by hand or from \
        scripts. It works the same mailboxes, local encrypted copies and system keyring as \
        the desktop app.\n\n\
        First use: `sealpost register LINK` with the link from the notification email, \
        then `sealpost sign-in --remember`, then `sealpost sync`."
)]
pub(crate) struct Cli {
    /// Which mailbox (its email address); needed when there are several.
    #[arg(long, global = true, env = "SEALPOST_ACCOUNT")]
    pub(crate) account: Option<String>,
    /// A shared mailbox worked as a named person: that person's own address (needed only
    /// when this computer has the mailbox both as its owner and as a delegate).
    #[arg(long = "as", global = true, env = "SEALPOST_AS")]
    pub(crate) as_person: Option<String>,
    /// Which hub, e.g. https://secure.example.gov.uk: for `account add`, the mailbox's hub
    /// (default: the hub your IT department set for this computer, in
    /// /etc/sealpost/desktop.toml); otherwise needed only when this computer has the same
    /// address on two hubs.
    #[arg(long, global = true, env = "SEALPOST_HUB")]
    pub(crate) hub: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Manage mailboxes on this computer.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Register an address with the link from the notification email.
    Register {
        /// The registration link (https://…/register?token=…).
        link: String,
    },
    /// Sign in (the password is asked for, or read from standard input; with two-step
    /// sign-in, then the code, or the next line of standard input).
    SignIn {
        /// Stay signed in on this computer (kept in the system keyring).
        #[arg(long)]
        remember: bool,
        /// The code the authenticator app shows now, or a recovery code (else it is asked
        /// for when the account needs one).
        #[arg(long)]
        code: Option<String>,
    },
    /// Two-step sign-in with an authenticator app (RFC 6238 codes).
    Mfa {
        #[command(subcommand)]
        command: MfaCommand,
    },
    /// The people who work a shared mailbox under their own names (named delegates).
    Mailbox {
        #[command(subcommand)]
        command: MailboxCommand,
    },
    /// Sign out and forget Remember me.
    SignOut,
    /// Bring the local copy up to date, and send what waits in the outbox.
    Sync,
    /// List a folder, newest first.
    List {
        /// inbox, sent, drafts or deleted.
        #[arg(long, default_value = "inbox")]
        folder: String,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show a message.
    Read {
        /// The message id.
        id: String,
    },
    /// Delete messages: from the inbox or Sent they move to Deleted; from Deleted, a
    /// draft, or a "withdrawn by the sender" line, they go for good.
    Delete {
        /// The message ids.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Save an attachment to a file.
    SaveAttachment {
        /// The message id.
        id: String,
        /// The attachment's id (shown by `read`), or its name when no other has it.
        name: String,
        /// Where to write it.
        #[arg(long)]
        to: PathBuf,
        /// Replace the file at `--to` if there is one (without it, an existing file is
        /// left alone and nothing is saved).
        #[arg(long)]
        force: bool,
    },
    /// Send a message to the organisation (or reply, reply to all, forward).
    Send {
        /// Recipient (repeat for several).
        #[arg(long)]
        to: Vec<String>,
        /// Copy recipient (repeat for several).
        #[arg(long)]
        cc: Vec<String>,
        /// Subject (a reply or forward without one gets "Re: …" or "Fwd: …" and the
        /// original's subject).
        #[arg(long)]
        subject: Option<String>,
        /// Body text.
        #[arg(long, conflicts_with = "body_file")]
        body: Option<String>,
        /// Read the body from a file.
        #[arg(long)]
        body_file: Option<PathBuf>,
        /// Attach a file (repeat for several).
        #[arg(long)]
        attach: Vec<PathBuf>,
        /// Reply to the sender of this message.
        #[arg(long, conflicts_with_all = ["reply_all", "forward"])]
        reply: Option<String>,
        /// Reply to the sender and the organisation's other participants.
        #[arg(long, conflicts_with = "forward")]
        reply_all: Option<String>,
        /// Forward this message (with its attachments).
        #[arg(long)]
        forward: Option<String>,
    },
    /// Search the local copy.
    Search {
        /// Words to look for.
        text: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum MfaCommand {
    /// Say whether it is on, and how many recovery codes are left.
    Status,
    /// Turn it on: shows a QR code and the secret for the app, asks for its first code,
    /// then shows ten recovery codes once.
    On,
    /// Turn it off, with a current code or a recovery code.
    Off {
        /// The code (else it is asked for).
        #[arg(long)]
        code: Option<String>,
    },
}

#[derive(Subcommand)]
pub(crate) enum MailboxCommand {
    /// List the mailbox's delegates.
    People,
    /// Invite a person to work the mailbox with their own address and password; they are
    /// emailed an invitation (the mailbox's owner or a manager).
    Invite {
        /// The person's own email address.
        email: String,
        /// Their name, as staff will see it on what they send (e.g. "Alice Smith").
        #[arg(long)]
        name: String,
        /// Also let them invite and remove people.
        #[arg(long)]
        manager: bool,
    },
    /// Take a person's access away: their sessions end at once and their computers
    /// delete their copies.
    Remove {
        /// The person's own email address.
        email: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum AccountCommand {
    /// Add a mailbox (at the hub given by --hub).
    Add {
        /// The mailbox's email address.
        #[arg(long)]
        email: String,
    },
    /// List mailboxes.
    List,
    /// Remove a mailbox and its local copy.
    Remove {
        /// The mailbox's email address.
        email: String,
    },
}
