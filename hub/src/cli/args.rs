//! The `sealpost-hub` command line as clap reads it: commands, arguments and their help.
//! What each does is in the binary (`main.rs`); what admin commands print, in [`super::render`].

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sealpost-hub",
    version,
    about = "Run and administer a Sealpost secure message hub"
)]
pub struct Cli {
    #[command(subcommand)]
    /// What to do.
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create a new hub in an empty data directory.
    Init {
        /// The hub's data directory (created if missing).
        #[arg(long, env = "SEALPOST_DATA")]
        data: PathBuf,
        /// The organisation's name, as recipients see it.
        #[arg(long)]
        org_name: String,
        /// An email domain of the organisation (repeat for several).
        #[arg(long = "org-domain", required = true)]
        org_domains: Vec<String>,
        /// The address people reach the hub at, e.g. https://secure.example.gov.uk
        #[arg(long)]
        public_url: String,
        /// Keep rows in this PostgreSQL database (postgres://USER:PASSWORD@HOST:PORT/DB)
        /// instead of hub.db; written to hub.toml as `[store] url`.
        #[arg(long)]
        store_url: Option<String>,
        /// Keep encrypted files in this S3 bucket (s3://BUCKET or s3://BUCKET/PREFIX)
        /// instead of blobs/; the key comes from SEALPOST_S3_ACCESS_KEY_ID and
        /// SEALPOST_S3_SECRET_ACCESS_KEY. Written to hub.toml as `[blobs]`.
        #[arg(long)]
        blobs_url: Option<String>,
        /// The S3 store's address, for a store other than AWS (http://127.0.0.1:3900).
        #[arg(long, requires = "blobs_url")]
        blobs_endpoint: Option<String>,
        /// The region the bucket's requests are signed for.
        #[arg(long, requires = "blobs_url", default_value = "us-east-1")]
        blobs_region: String,
    },
    /// Serve the hub's API and pages.
    Serve {
        /// The hub's data directory.
        #[arg(long, env = "SEALPOST_DATA")]
        data: PathBuf,
        /// Address to listen on (default: `listen` in hub.toml); port 0 picks a free port.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Send a secure message as organisation staff; prints the message id.
    Send {
        /// The hub's data directory.
        #[arg(long, env = "SEALPOST_DATA")]
        data: PathBuf,
        /// Staff address in an organisation domain.
        #[arg(long)]
        from: String,
        /// Recipient (repeat for several).
        #[arg(long, required = true)]
        to: Vec<String>,
        /// Copy recipient (repeat for several).
        #[arg(long)]
        cc: Vec<String>,
        /// Subject line.
        #[arg(long)]
        subject: String,
        /// Body text.
        #[arg(
            long,
            conflicts_with = "body_file",
            required_unless_present = "body_file"
        )]
        body: Option<String>,
        /// Read the body from this file.
        #[arg(long)]
        body_file: Option<PathBuf>,
        /// Also send an HTML version of the body, read from this file (shown sanitised).
        #[arg(long)]
        body_html_file: Option<PathBuf>,
        /// Attach a file (repeat for several).
        #[arg(long)]
        attach: Vec<PathBuf>,
        /// Keep this message for fewer days than the hub's retention (e.g. 3).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        keep_days: Option<u32>,
        /// A reference of yours for this message: run again with the same one (after a
        /// failure, say), it is not sent twice and the first id is printed.
        #[arg(long)]
        client_ref: Option<String>,
    },
    /// Recall a message staff sent: every recipient's copy is deleted from the hub, and
    /// from their computers at their next sync.
    Recall {
        /// The hub's data directory.
        #[arg(long, env = "SEALPOST_DATA")]
        data: PathBuf,
        /// The message's id, as `send` printed it (snd_…).
        id: String,
    },
    /// What became of a message staff sent: for each recipient, when they were notified,
    /// registered, first opened it, replied, and whether it was recalled or expired.
    Status {
        /// The hub's data directory.
        #[arg(long, env = "SEALPOST_DATA")]
        data: PathBuf,
        /// The message's id, as `send` printed it (snd_…).
        id: String,
        /// Print JSON (as `GET /api/v1/org/messages/{id}` answers) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Administer users, tokens, the audit log; check, purge, upgrade, rotate the master key.
    Admin {
        /// The hub's data directory.
        #[arg(long, env = "SEALPOST_DATA")]
        data: PathBuf,
        #[command(subcommand)]
        command: Admin,
    },
}

#[derive(Subcommand)]
pub enum Admin {
    /// Users (external mailboxes).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Shared mailboxes: the named people (delegates) who work them.
    Mailbox {
        #[command(subcommand)]
        command: MailboxCommand,
    },
    /// Organisation API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Show the audit log.
    Audit {
        /// How far back, e.g. 30m, 24h, 7d.
        #[arg(long, default_value = "24h")]
        since: String,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check that the data directory adds up: files nothing refers to, rows whose file is
    /// gone, empty pending mailboxes, permissions, the database. Exits 1 if problems remain.
    Check {
        /// Mend what can be mended (see the admin guide).
        #[arg(long)]
        repair: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Delete messages past the retention period, with their files, unused uploads, and
    /// what crashes left (files nothing refers to, empty pending mailboxes).
    Purge {
        /// Only count what would go.
        #[arg(long)]
        dry_run: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Check the app updates this hub offers ([updates] dir): the manifest, each package
    /// in the folder, each signature made for the announced version and, with
    /// --release-key, good for the release key. Exits 1 if the apps would refuse any of it.
    Updates {
        /// The release key's public half: its .key.pub file, its text (as in
        /// SEALPOST_UPDATER_PUBKEY), or minisign's RW… key line. Every package is then read
        /// and its signature checked.
        #[arg(long)]
        release_key: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show figures for the hub.
    Stats {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Rewrite messages stored by an older hub in the current storage format (`serve` does
    /// this at start too). Prints a line per 1,000 messages; stopped, it resumes.
    Upgrade,
    /// Make a new master key and re-wrap every mailbox's keys with it (no mail is
    /// re-encrypted). The hub must be stopped. The old key file is replaced once the
    /// rotation has committed; back up the new one.
    RotateMasterKey {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Make a secret for a mail gateway's SMTP AUTH: prints the secret (for the gateway,
    /// once) and the line for hub.toml's [smtp_in] (its SHA-256; the secret is not kept).
    SmtpInSecret,
    /// Back up a SQLite hub into a new folder while it serves: the database at one
    /// moment, the encrypted files it refers to, and hub.toml. Not master.key: back it
    /// up on its own, and keep it apart. (A PostgreSQL hub: see the admin guide.)
    Backup {
        /// The new folder to write (it must not exist, or be empty).
        #[arg(long)]
        to: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Move the hub's rows into a PostgreSQL database (and its files into an S3 bucket),
    /// as they are, sealed; verified, resumable; then point hub.toml at them. The hub
    /// must be stopped; hub.db and blobs/ are left as they were.
    MigrateStore {
        /// The database: postgres://USER:PASSWORD@HOST:PORT/DATABASE (empty, or holding
        /// an earlier run's copy of this hub). Without it, SEALPOST_STORE_URL names it,
        /// which keeps the password off the command line and out of hub.toml.
        #[arg(long)]
        to: Option<String>,
        /// The bucket for the files (s3://BUCKET or s3://BUCKET/PREFIX); the key comes
        /// from SEALPOST_S3_ACCESS_KEY_ID and SEALPOST_S3_SECRET_ACCESS_KEY. Without it
        /// the files stay in blobs/.
        #[arg(long)]
        blobs_url: Option<String>,
        /// The S3 store's address, for a store other than AWS.
        #[arg(long, requires = "blobs_url")]
        blobs_endpoint: Option<String>,
        /// The region the bucket's requests are signed for.
        #[arg(long, requires = "blobs_url", default_value = "us-east-1")]
        blobs_region: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Restore a backup made by `admin backup` into a new data directory (--data).
    Restore {
        /// The backup folder.
        #[arg(long)]
        from: PathBuf,
        /// The hub's master key (from its own backup); not needed if --data holds it.
        #[arg(long)]
        master_key: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// List every user.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one user.
    Show {
        /// The user's address.
        email: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Clear a sign-in lock.
    Unlock {
        /// The user's address.
        email: String,
    },
    /// Turn off a user's two-step sign-in (a lost phone, say): signs them out everywhere
    /// and emails them; they sign in with their password and can turn it on again.
    ResetMfa {
        /// The user's address.
        email: String,
    },
    /// Stop a user signing in, and sign them out everywhere.
    Disable {
        /// The user's address.
        email: String,
    },
    /// Let a disabled user sign in again.
    Enable {
        /// The user's address.
        email: String,
    },
    /// Delete a user, their mailbox and attachments.
    Delete {
        /// The user's address.
        email: String,
    },
}

#[derive(Subcommand)]
pub enum MailboxCommand {
    /// Give a person access to a shared mailbox under their own name; they are emailed an
    /// invitation (with a link to choose their password if they have none here).
    AddDelegate {
        /// The shared mailbox's address, e.g. care.referrals@partner.org.
        mailbox: String,
        /// The person's own address.
        email: String,
        /// Their name, as staff will see it on what they send (e.g. "Alice Smith").
        #[arg(long)]
        name: String,
        /// Also let them add and remove delegates, as the mailbox's owner does.
        #[arg(long)]
        manager: bool,
    },
    /// Take a person's access to a shared mailbox away: their sessions on it end at once
    /// and their devices delete their copies; they are emailed.
    RemoveDelegate {
        /// The shared mailbox's address.
        mailbox: String,
        /// The person's own address.
        email: String,
    },
    /// List the delegates of a mailbox.
    Delegates {
        /// The mailbox's address.
        mailbox: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Make a mailbox shared-only: it loses its own password (its own sessions end), so
    /// only its delegates sign in to it. It needs a delegate first.
    SharedOnly {
        /// The mailbox's address.
        mailbox: String,
    },
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token; it is shown once.
    Create {
        /// What the token is for, e.g. "case system".
        #[arg(long)]
        name: String,
    },
    /// List tokens.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token.
    Revoke {
        /// The token's id (from `token list`).
        id: String,
    },
}
