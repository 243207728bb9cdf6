//! `sealpost-hub`: initialise, serve and administer a Sealpost hub.

use std::{process::ExitCode, sync::Arc};

use anyhow::{bail, Context};
use clap::Parser;
use sealpost_hub::{
    cli::{
        args::{Admin, Cli, Command, MailboxCommand, TokenCommand, UserCommand},
        count, parse_span, render,
    },
    sending::{AttachmentFile, OrgMessage},
    Caller, Hub, InitOptions,
};
use sealpost_proto::say;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colours for a person at a terminal; plain text for journald, files and pipes.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SEALPOST_LOG")
                // Libraries' own notes (object_store's retries) only when they warn.
                .unwrap_or_else(|_| "info,object_store=warn".into()),
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
            store_url,
            blobs_url,
            blobs_endpoint,
            blobs_region,
        } => {
            let config = Hub::init(
                &data,
                InitOptions {
                    org_name,
                    org_domains,
                    public_url,
                    store: store_url.map(|url| sealpost_hub::config::StoreConfig {
                        url,
                        max_connections: 16,
                    }),
                    blobs: blobs_url.map(|url| {
                        sealpost_hub::blobs::BucketConfig::named(url, blobs_endpoint, blobs_region)
                    }),
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
            if hub.served_elsewhere() {
                anyhow::bail!(
                    "another `sealpost-hub serve` is running on {}: stop it first (two would \
                     both work the mail queue, and only one would hear what other commands send)",
                    data.display()
                );
            }
            // Rows an older hub stored are rewritten before anyone is served.
            upgrade(&hub).await?;
            let stop = shutdown_signal();
            let address = listen.unwrap_or_else(|| hub.config().listen.clone());
            let listener = tokio::net::TcpListener::bind(&address)
                .await
                .with_context(|| format!("Listening on {address}"))?;
            let local = listener.local_addr()?;
            let smtp = sealpost_hub::smtp_in::bind(&hub)
                .await
                .map_err(|e| anyhow::anyhow!(e))?;
            say!("listening on http://{local}");
            if let Some(dir) = hub.updates_dir().filter(|d| !d.is_dir()) {
                // Likely a mistyped path: the apps would be told there is no update.
                tracing::warn!(
                    dir = %dir.display(),
                    "the [updates] folder does not exist: no app update is offered until it \
                     does (`sealpost-hub admin updates` checks it)"
                );
            }
            if let Some((tcp, _)) = &smtp {
                say!(
                    "listening for the mail gateway on smtp://{}",
                    tcp.local_addr()?
                );
            }
            use std::io::Write;
            std::io::stdout().flush()?;
            // Under systemd (`Type=notify`), the unit is started once this is said; a
            // no-op elsewhere.
            if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Ready]) {
                tracing::warn!(error = %e, "could not tell systemd the hub is ready");
            }
            sealpost_hub::serve_with(hub, listener, smtp, async {
                stop.await;
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
            })
            .await?;
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
                        envelope: None,
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
        Command::Recall { data, id } => {
            let hub = open(&data)?;
            let recall = match hub.recall_org_message(&id, &Caller::cli()).await {
                Err(sealpost_hub::error::Error::NotFound(_)) => bail!(
                    "no message sent by staff has the id {id:?} (or it has expired): use the id \
                     `send` printed (snd_…)"
                ),
                recalled => recalled?,
            };
            let at = recall.recalled_at.format("%-d %b %Y %H:%M UTC");
            if recall.repeated {
                say!("{} was recalled on {at} already", recall.id);
            } else {
                say!(
                    "recalled {}: {} deleted",
                    recall.id,
                    sealpost_proto::text::counted(recall.copies as usize, "copy", "copies")
                );
            }
        }
        Command::Status { data, id, json } => {
            let hub = open(&data)?;
            let status = match hub.send_status(&id).await {
                Err(sealpost_hub::error::Error::NotFound(_)) => bail!(
                    "no message sent by staff has the id {id:?} (or it was sent before this \
                     version of the hub, or expired over a month ago)"
                ),
                status => status?,
            };
            if json {
                say!(
                    "{}",
                    serde_json::to_string_pretty(&sealpost_hub::api::org_status(status))?
                );
            } else {
                sealpost_hub::cli::render::send_status(&status);
            }
        }
        Command::Admin {
            command: Admin::SmtpInSecret,
            ..
        } => {
            let (secret, digest) = sealpost_hub::smtp_in::new_secret();
            say!("secret for the gateway (shown once; it logs in with AUTH PLAIN, any user name):");
            say!("{secret}");
            say!("add to hub.toml under [smtp_in]:");
            say!("auth_secret_sha256 = [\"{digest}\"]");
        }
        Command::Admin {
            data,
            command: Admin::RotateMasterKey { json },
        } => {
            let dir = sealpost_hub::config::DataDir::new(&data);
            let r = sealpost_hub::rotation::rotate_master_key(&dir)?;
            if json {
                say!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                render::rotation(&r);
            }
        }
        Command::Admin {
            data,
            command:
                Admin::Restore {
                    from,
                    master_key,
                    json,
                },
        } => {
            let r = sealpost_hub::backup::restore(&from, &data, master_key.as_deref())?;
            if json {
                say!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                render::restored(&r);
            }
        }
        Command::Admin {
            data,
            command:
                Admin::MigrateStore {
                    to,
                    blobs_url,
                    blobs_endpoint,
                    blobs_region,
                    json,
                },
        } => {
            let dir = sealpost_hub::config::DataDir::new(&data);
            let bucket = blobs_url.map(|url| {
                sealpost_hub::blobs::BucketConfig::named(url, blobs_endpoint, blobs_region)
            });
            let url = match to {
                Some(url) => url,
                None => std::env::var(sealpost_hub::config::STORE_URL_ENV)
                    .ok()
                    .filter(|u| !u.is_empty())
                    .context("name the database with --to postgres://… or in SEALPOST_STORE_URL")?,
            };
            let store = sealpost_hub::config::StoreConfig {
                url,
                max_connections: 16,
            };
            let m = sealpost_hub::migrate_store::migrate_store(&dir, store, bucket, |line| {
                if !json {
                    say!("{line}");
                }
            })?;
            if json {
                say!("{}", serde_json::to_string_pretty(&m)?);
            } else {
                render::migrated(&m);
            }
        }
        Command::Admin { data, command } => admin(open(&data)?, command).await?,
    }
    Ok(())
}

async fn mailbox_admin(hub: &Hub, command: MailboxCommand, caller: &Caller) -> anyhow::Result<()> {
    use sealpost_hub::delegates::ActingFor;
    match command {
        MailboxCommand::AddDelegate {
            mailbox,
            email,
            name,
            manager,
        } => {
            let shared = hub.mailbox_by_email(&mailbox).await?;
            let new = sealpost_proto::NewDelegate {
                email,
                name,
                role: Some(if manager { "manager" } else { "member" }.to_owned()),
            };
            let d = hub
                .add_delegate(&shared, &new, ActingFor::Admin, caller)
                .await?;
            say!(
                "added {} ({}) to {} as a {}, and emailed them an invitation",
                d.name,
                d.email,
                shared.email,
                d.role
            );
        }
        MailboxCommand::RemoveDelegate { mailbox, email } => {
            let shared = hub.mailbox_by_email(&mailbox).await?;
            let person = hub.mailbox_by_email(&email).await?;
            hub.remove_delegate(&shared.id, &person.id, ActingFor::Admin, caller)
                .await?;
            say!(
                "removed {} from {}: their sessions on it have ended, and their devices \
                 delete its copy at their next sync",
                person.email,
                shared.email
            );
        }
        MailboxCommand::Delegates { mailbox, json } => {
            let list = hub.delegates_of(&mailbox).await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                render::delegates(&list);
            }
        }
        MailboxCommand::SharedOnly { mailbox } => {
            hub.make_shared_only(&mailbox, caller).await?;
            say!(
                "{mailbox} is shared-only: it has no password of its own; its delegates sign \
                 in to it as themselves"
            );
        }
    }
    Ok(())
}

async fn admin(hub: Hub, command: Admin) -> anyhow::Result<()> {
    let caller = Caller::cli();
    match command {
        Admin::Backup { to, json } => {
            let r = hub.backup(&to).await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                render::backup(&r);
            }
        }
        Admin::Restore { .. } | Admin::MigrateStore { .. } => {
            unreachable!("BUG: restore and migrate-store run before the hub opens")
        }
        Admin::User { command } => match command {
            UserCommand::List { json } => {
                let users = hub.users().await?;
                if json {
                    say!("{}", serde_json::to_string_pretty(&users)?);
                } else {
                    render::users(&users);
                }
            }
            UserCommand::Show { email, json } => {
                let u = hub.user(&email).await?;
                if json {
                    say!("{}", serde_json::to_string_pretty(&u)?);
                } else {
                    render::user(&u);
                }
            }
            UserCommand::Unlock { email } => {
                hub.unlock_user(&email, &caller).await?;
                say!("unlocked {email}");
            }
            UserCommand::ResetMfa { email } => {
                hub.reset_mfa(&email, &caller).await?;
                say!(
                    "turned off two-step sign-in for {email}, signed them out everywhere and \
                     emailed them"
                );
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
        Admin::Mailbox { command } => mailbox_admin(&hub, command, &caller).await?,
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
                } else {
                    render::org_tokens(&tokens);
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
            } else {
                render::audit(&entries, &since);
            }
        }
        Admin::Purge { dry_run, json } => {
            let r = hub.purge(dry_run, &caller).await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                render::purge(&r, dry_run);
            }
        }
        Admin::Check { repair, json } => {
            let r = hub.check(repair, &caller).await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                render::check(&r);
            }
            if r.problems() > 0 {
                return Err(CheckFailed(r.problems()).into());
            }
        }
        Admin::Upgrade => {
            let n = upgrade(&hub).await?;
            if n == 0 {
                say!("storage is up to date: nothing to rewrite");
            }
        }
        Admin::RotateMasterKey { .. } | Admin::SmtpInSecret => {
            unreachable!("handled without opening the hub")
        }
        Admin::Updates { release_key, json } => {
            let key = match release_key {
                Some(given) => {
                    let path = std::path::Path::new(&given);
                    let text = if path.exists() {
                        std::fs::read_to_string(path)
                            .with_context(|| format!("Reading the release key file {given}"))?
                    } else if given.contains('.') || given.starts_with('/') {
                        // A file name, not a key (a key's text has no dot, and starts with
                        // a letter).
                        anyhow::bail!("there is no release key file {given}")
                    } else {
                        given
                    };
                    Some(sealpost_hub::updates::release_key(&text).map_err(anyhow::Error::msg)?)
                }
                None => None,
            };
            let r = hub.check_updates(key.as_ref()).await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                render::updates(&r);
            }
            if !r.problems.is_empty() {
                return Err(CheckFailed(r.problems.len()).into());
            }
        }
        Admin::Stats { json } => {
            let s = hub.stats().await?;
            if json {
                say!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                render::stats(&s);
            }
        }
    }
    Ok(())
}

/// Rewrites rows of an older storage format, a line per batch. Returns how many.
async fn upgrade(hub: &Hub) -> anyhow::Result<u64> {
    let n = hub
        .upgrade_storage(|p| say!("{p}"))
        .await
        .context("Upgrading the stored messages (run again to resume)")?;
    if n > 0 {
        say!("storage upgrade finished: {n} messages now in the current format");
    }
    Ok(n)
}

/// Problems `admin check` or `admin updates` found that remain.
#[derive(Debug, thiserror::Error)]
#[error("{} (see above)", count(*.0 as u64, "problem remains", "problems remain"))]
struct CheckFailed(usize);

/// Resolves at Ctrl-C or SIGTERM. The handlers are installed when this is called, not
/// when it is first awaited: a stop systemd sends right after READY=1 still ends the hub
/// cleanly.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (mut interrupt, mut terminate) = (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        );
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(interrupt.take()) => {},
                _ = wait(terminate.take()) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
