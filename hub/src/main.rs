//! `sealpost-hub`: initialise, serve and administer a Sealpost hub.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use sealpost_hub::{
    cli::{count, parse_span, print_table, when},
    sending::{AttachmentFile, OrgMessage},
    Caller, Hub, InitOptions,
};
use sealpost_proto::say;

#[derive(Parser)]
#[command(
    name = "sealpost-hub",
    version,
    about = "Run and administer a Sealpost secure message hub"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
    /// Administer users, tokens, the audit log.
    Admin {
        /// The hub's data directory.
        #[arg(long, env = "SEALPOST_DATA")]
        data: PathBuf,
        #[command(subcommand)]
        command: Admin,
    },
}

#[derive(Subcommand)]
enum Admin {
    /// Users (external mailboxes).
    User {
        #[command(subcommand)]
        command: UserCommand,
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
    /// Show figures for the hub.
    Stats {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
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
enum TokenCommand {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SEALPOST_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: the runtime could not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn open(data: &std::path::Path) -> anyhow::Result<Hub> {
    Ok(Hub::open(data)?)
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Init {
            data,
            org_name,
            org_domains,
            public_url,
        } => {
            let config = Hub::init(
                &data,
                InitOptions {
                    org_name,
                    org_domains,
                    public_url,
                },
            )?;
            say!(
                "initialised a hub for {} ({}) in {}",
                config.org_name,
                config.org_domains.join(", "),
                data.display()
            );
            say!(
                "keep {} safe and backed up apart from the database: without it no message can be read",
                data.join("master.key").display()
            );
        }
        Command::Serve { data, listen } => {
            let hub = Arc::new(open(&data)?);
            let address = listen.unwrap_or_else(|| hub.config().listen.clone());
            let listener = tokio::net::TcpListener::bind(&address)
                .await
                .with_context(|| format!("Listening on {address}"))?;
            let local = listener.local_addr()?;
            say!("listening on http://{local}");
            use std::io::Write;
            std::io::stdout().flush()?;
            sealpost_hub::serve(hub, listener, shutdown_signal()).await?;
        }
        Command::Send {
            data,
            from,
            to,
            cc,
            subject,
            body,
            body_file,
            body_html_file,
            attach,
            keep_days,
            client_ref,
        } => {
            let client_ref = sealpost_hub::policy::client_reference(client_ref.as_deref())?;
            let hub = open(&data)?;
            let body_text = match (body, body_file) {
                (Some(b), _) => b,
                (None, Some(f)) => std::fs::read_to_string(&f)
                    .with_context(|| format!("Reading the body from {}", f.display()))?,
                (None, None) => bail!("give the body with --body or --body-file"),
            };
            let body_html = body_html_file
                .map(|f| {
                    std::fs::read_to_string(&f)
                        .with_context(|| format!("Reading the HTML body from {}", f.display()))
                })
                .transpose()?;
            for file in &attach {
                if !file.is_file() {
                    bail!("the attachment {} is not a readable file", file.display());
                }
            }
            let receipt = hub
                .send_org_message(
                    OrgMessage {
                        from,
                        to,
                        cc,
                        subject,
                        body_text,
                        body_html,
                        attachments: attach.into_iter().map(AttachmentFile::from_path).collect(),
                        keep_days,
                        client_ref: client_ref.map(|r| format!("cli:{r}")),
                    },
                    &Caller::cli(),
                )
                .await?;
            // Deliver the notifications now rather than waiting for a running server.
            if let Err(e) = hub.deliver_mail().await {
                eprintln!("warning: notification emails are queued but not yet sent: {e}");
            }
            say!("{}", receipt.id);
        }
        Command::Admin { data, command } => admin(open(&data)?, command).await?,
    }
    Ok(())
}

async fn admin(hub: Hub, command: Admin) -> anyhow::Result<()> {
    let caller = Caller::cli();
    match command {
        Admin::User { command } => match command {
            UserCommand::List { json } => {
                let users = hub.users().await?;
                if json {
                    say!("{}", serde_json::to_string_pretty(&users)?);
                } else if users.is_empty() {
                    say!("no users yet");
                } else {
                    let rows: Vec<Vec<String>> = users
                        .iter()
                        .map(|u| {
                            vec![
                                u.email.clone(),
                                u.status.into(),
                                if u.locked_until.is_some() {
                                    "locked".into()
                                } else {
                                    "-".into()
                                },
                                u.inbox.to_string(),
                                u.unread.to_string(),
                                when(u.last_sign_in_at),
                            ]
                        })
                        .collect();
                    print_table(
                        &["EMAIL", "STATUS", "LOCK", "INBOX", "UNREAD", "LAST SIGN-IN"],
                        &rows,
                    );
                }
            }
            UserCommand::Show { email, json } => {
                let u = hub.user(&email).await?;
                if json {
                    say!("{}", serde_json::to_string_pretty(&u)?);
                } else {
                    say!("email:            {}", u.email);
                    say!("status:           {}", u.status);
                    say!("locked until:     {}", when(u.locked_until));
                    say!("failed sign-ins:  {}", u.failed_sign_ins);
                    say!("created:          {}", when(Some(u.created_at)));
                    say!("registered:       {}", when(u.registered_at));
                    say!("last sign-in:     {}", when(u.last_sign_in_at));
                    say!("inbox:            {} ({} unread)", u.inbox, u.unread);
                    say!("signed-in devices: {}", u.sessions);
                }
            }
            UserCommand::Unlock { email } => {
                hub.unlock_user(&email, &caller).await?;
                say!("unlocked {email}");
            }
            UserCommand::Disable { email } => {
                hub.disable_user(&email, &caller).await?;
                say!("disabled {email} and signed them out everywhere");
            }
            UserCommand::Enable { email } => {
                hub.enable_user(&email, &caller).await?;
                say!("enabled {email}");
            }
            UserCommand::Delete { email } => {
                hub.delete_user(&email, &caller).await?;
                say!("deleted {email} and their mailbox");
            }
        },
        Admin::Token { command } => match command {
            TokenCommand::Create { name } => {
                let created = hub.create_org_token(&name, &caller).await?;
                say!("{}", created.token.expose());
                eprintln!(
                    "created org token {} ({name}); it is shown only this once, store it now",
                    created.id
                );
            }
            TokenCommand::List { json } => {
                let tokens = hub.org_tokens().await?;
                if json {
                    say!("{}", serde_json::to_string_pretty(&tokens)?);
                } else if tokens.is_empty() {
                    say!("no org tokens");
                } else {
                    let rows: Vec<Vec<String>> = tokens
                        .iter()
                        .map(|t| {
                            vec![
                                t.id.clone(),
                                t.name.clone(),
                                when(Some(t.created_at)),
                                when(t.last_used_at),
                                if t.revoked_at.is_some() {
                                    "revoked".into()
                                } else {
                                    "live".into()
                                },
                            ]
                        })
                        .collect();
                    print_table(&["ID", "NAME", "CREATED", "LAST USED", "STATE"], &rows);
                }
            }
            TokenCommand::Revoke { id } => {
                hub.revoke_org_token(&id, &caller).await?;
                say!("revoked {id}");
            }
        },
        Admin::Audit { since, json } => {
            let span = parse_span(&since).map_err(anyhow::Error::msg)?;
            let entries = hub.audit_log(hub.now() - span).await?;
            if json {
                for e in &entries {
                    say!("{}", serde_json::to_string(e)?);
                }
            } else if entries.is_empty() {
                say!("nothing in the audit log since {since} ago");
            } else {
                let rows: Vec<Vec<String>> = entries
                    .iter()
                    .map(|e| {
                        vec![
                            e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                            e.event.clone(),
                            e.email.clone(),
                            e.ip.clone(),
                            e.detail.clone(),
                        ]
                    })
                    .collect();
                print_table(&["TIME (UTC)", "EVENT", "EMAIL", "FROM", "DETAIL"], &rows);
            }
        }
        Admin::Purge { dry_run, json } => {
            let r = hub.purge(dry_run, &caller).await?;
            let left = &r.leftovers;
            if json {
                say!("{}", serde_json::to_string_pretty(&r)?);
            } else if dry_run {
                say!(
                    "would delete {} with {}, {} left by crashes ({}) and {} (nothing \
                     was changed)",
                    count(r.messages as u64, "expired message", "expired messages"),
                    count(r.attachments as u64, "attachment file", "attachment files"),
                    count(left.files, "file", "files"),
                    sealpost_proto::text::megabytes(left.bytes),
                    count(
                        left.mailboxes,
                        "empty pending mailbox",
                        "empty pending mailboxes"
                    )
                );
            } else {
                say!(
                    "deleted {}, {}, {}, {} left by crashes ({}) and {}",
                    count(r.messages as u64, "expired message", "expired messages"),
                    count(r.attachments as u64, "attachment file", "attachment files"),
                    count(r.uploads as u64, "unused upload", "unused uploads"),
                    count(left.files, "file", "files"),
                    sealpost_proto::text::megabytes(left.bytes),
                    count(
                        left.mailboxes,
                        "empty pending mailbox",
                        "empty pending mailboxes"
                    )
                );
            }
        }
        Admin::Check { repair, json } => {
            let r = hub.check(repair, &caller).await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                print_check(&r);
            }
            if r.problems() > 0 {
                return Err(CheckFailed(r.problems()).into());
            }
        }
        Admin::Stats { json } => {
            let s = hub.stats().await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                say!(
                    "accounts:     {} active, {} pending, {} disabled, {} locked",
                    s.accounts_active,
                    s.accounts_pending,
                    s.accounts_disabled,
                    s.accounts_locked
                );
                say!("messages:     {}", s.messages);
                say!(
                    "attachments:  {} ({} bytes)",
                    s.attachments,
                    s.attachment_bytes
                );
                say!("sessions:     {}", s.sessions);
                say!("org tokens:   {}", s.org_tokens);
                say!("mail backlog: {}", s.mail_backlog);
            }
        }
    }
    Ok(())
}

/// Problems `admin check` found that remain.
#[derive(Debug, thiserror::Error)]
#[error("{} (see above)", count(*.0 as u64, "problem remains", "problems remain"))]
struct CheckFailed(usize);

fn print_check(r: &sealpost_hub::check::CheckReport) {
    let fixed = |done: &str, todo: &str| {
        if r.repaired {
            done.to_owned()
        } else {
            todo.to_owned()
        }
    };
    let line = |ok: bool, text: String| say!("{} {text}", if ok { "ok  " } else { "FIX " });
    line(r.database == "ok", format!("database: {}", r.database));
    line(
        r.orphan_files == 0 || r.repaired,
        format!(
            "{} nothing refers to ({}), left by crashes{}",
            count(r.orphan_files, "file", "files"),
            sealpost_proto::text::megabytes(r.orphan_bytes),
            if r.orphan_files > 0 {
                fixed(": removed", ": `--repair` removes them")
            } else {
                String::new()
            }
        ),
    );
    if r.recent_unreferenced_files > 0 {
        say!(
            "     {} not referred to yet: uploads or sends under way, left alone",
            count(r.recent_unreferenced_files, "newer file", "newer files")
        );
    }
    line(
        r.lost_attachments.is_empty(),
        format!(
            "{} whose attachment file is gone{}",
            count(r.lost_attachments.len() as u64, "message", "messages"),
            if r.lost_attachments.is_empty() {
                String::new()
            } else {
                format!(
                    " (restore blobs/ from a backup): {}",
                    r.lost_attachments.join(", ")
                )
            }
        ),
    );
    line(
        r.lost_uploads + r.lost_emails == 0 || r.repaired,
        format!(
            "{} and {} to staff whose file is gone{}",
            count(r.lost_uploads, "upload", "uploads"),
            count(r.lost_emails, "email", "emails"),
            if r.lost_uploads + r.lost_emails > 0 {
                fixed(": given up", ": `--repair` gives them up")
            } else {
                String::new()
            }
        ),
    );
    // Named things `--repair` mends: how many, which, and what was (or would be) done.
    let mendable = |names: &[String], what: String, done: &str, todo: &str| {
        let which = match names.is_empty() {
            true => String::new(),
            false => format!(" ({}): {}", fixed(done, todo), names.join(", ")),
        };
        line(names.is_empty() || r.repaired, format!("{what}{which}"));
    };
    mendable(
        &r.empty_mailboxes,
        format!(
            "{} with no message",
            count(
                r.empty_mailboxes.len() as u64,
                "pending mailbox",
                "pending mailboxes"
            )
        ),
        "removed",
        "`--repair` removes them",
    );
    mendable(
        &r.not_private,
        format!(
            "{} others may read",
            count(
                r.not_private.len() as u64,
                "file or folder",
                "files or folders"
            )
        ),
        "made owner-only",
        "`--repair` makes them owner-only",
    );
    for note in &r.notes {
        say!("note {note}");
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
