//! `sealpost`: the desktop's mailboxes from a terminal, for people and scripts (a partner
//! organisation pulling its secure mail into its case system, say). Same vaults and
//! keyring as the app.
//!
//! Exit codes: 0 done; 1 failed; 2 bad usage; 3 the hub cannot be reached; 4 sign in
//! needed; 5 refused by a rule (recipient, attachment limit, weak password).

use std::{
    io::{BufRead, IsTerminal},
    path::PathBuf,
    process::ExitCode,
    sync::Arc,
};

use clap::Parser;
use sealpost_client::{
    compose::{local_time, withdrawn_line},
    keyring::OsKeyring,
    links::{self, LinkKind},
    outbox::SendOutcome,
    Accounts, ClientError, Code, Mailbox, Mailboxes,
};
use sealpost_proto::{say, Folder, Outgoing, SendMode};

mod cli;
use cli::{AccountCommand, Cli, Command, MailboxCommand, MfaCommand};

fn exit_code(e: &ClientError) -> u8 {
    match e.code() {
        Code::Offline => 3,
        Code::SignInRequired
        | Code::InvalidCredentials
        | Code::AccountLocked
        | Code::AccountDisabled
        | Code::AccessRemoved
        | Code::MfaRequired
        | Code::MfaCodeWrong => 4,
        Code::RecipientNotAllowed | Code::AttachmentLimit | Code::WeakPassword => 5,
        _ => 1,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", describe(&e));
            ExitCode::from(exit_code(&e))
        }
    }
}

/// "1 byte", "12 bytes".
fn bytes(n: u64) -> String {
    match n {
        1 => "1 byte".to_owned(),
        n => format!("{n} bytes"),
    }
}

/// An error as a sentence, with any time in it in this computer's time zone.
fn describe(e: &ClientError) -> String {
    let until = match e {
        ClientError::Hub { detail, .. } => detail.locked_until.as_deref(),
        _ => None,
    };
    match until.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()) {
        Some(t) => format!(
            "{e} (sign-in opens again at {})",
            local_time(&t.to_rfc3339())
        ),
        None => e.to_string(),
    }
}

/// Text from a message made safe for a terminal: control characters (escape sequences
/// among them) and characters that hide or reorder text are shown as `\u{…}`, so that a
/// message cannot restyle the terminal or disguise what it says. Line breaks and tabs stay
/// where `keep_lines`.
fn for_terminal(text: &str, keep_lines: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let keep = keep_lines && (c == '\n' || c == '\t');
        if keep || !(c.is_control() || sealpost_proto::text::hides_text(c)) {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    out
}

fn mailboxes() -> Result<Mailboxes, ClientError> {
    let dir = match std::env::var_os("SEALPOST_DATA_DIR") {
        Some(d) => PathBuf::from(d),
        None => Accounts::default_dir()?,
    };
    let accounts = Accounts::new(dir, Arc::new(OsKeyring::open()?));
    // Vault files a removal could not delete at the time (their keys are gone already).
    if let Err(e) = accounts.sweep() {
        tracing::warn!(error = %e, "left-over vault files could not be removed");
    }
    Ok(Mailboxes::new(accounts))
}

/// The password, from the terminal or a line of standard input. Nothing there (standard
/// input closed or empty, as under cron) is "sign in needed": no password is ever made up.
fn read_password(prompt: &str) -> Result<String, ClientError> {
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt)?
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    if password.is_empty() {
        return Err(ClientError::Refused {
            code: Code::SignInRequired,
            message: "sign in needed: no password was given (standard input is closed or \
                      empty), and nothing was sent to the hub. Type it on a terminal, or give \
                      it as one line on standard input; for scheduled runs, sign in once \
                      with `sealpost sign-in --remember`"
                .into(),
            refused: Vec::new(),
        });
    }
    Ok(password)
}

/// A new password: asked twice on a terminal (a typo would leave a password nobody
/// knows), read once from standard input (scripts).
fn read_new_password() -> Result<String, ClientError> {
    let password = read_password("Choose a password: ")?;
    if std::io::stdin().is_terminal() && read_password("Type it again: ")? != password {
        return Err(ClientError::Refused {
            code: Code::Invalid,
            message: "The two passwords are not the same; nothing was registered. Try again."
                .into(),
            refused: Vec::new(),
        });
    }
    Ok(password)
}

/// Signs in when there is no session and no Remember me.
async fn ensure_session(mailbox: &Mailbox) -> Result<(), ClientError> {
    if mailbox.hub.signed_in() || mailbox.remembered()? {
        return Ok(());
    }
    let password = read_password(&format!("Password for {}: ", mailbox.account.email))?;
    sign_in_asking(mailbox, &password, None, false).await
}

/// A line read from the terminal (shown as typed) or standard input.
fn read_line(prompt: &str) -> Result<String, ClientError> {
    if std::io::stdin().is_terminal() {
        eprint!("{prompt}");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let line = line.trim().to_owned();
    if line.is_empty() {
        return Err(ClientError::Refused {
            code: Code::Invalid,
            message: "no code was given (standard input is closed or empty); nothing more \
                      was sent to the hub"
                .into(),
            refused: Vec::new(),
        });
    }
    Ok(line)
}

/// Opens beside `own` the shared mailboxes its person works that this computer lacks (see
/// [`Mailboxes::open_shared`]), and says which were added, on stderr with `on_stderr`.
async fn open_shared_telling(
    mailboxes: &Mailboxes,
    own: &Mailbox,
    password: Option<&str>,
    on_stderr: bool,
) -> Result<(), ClientError> {
    if own.account.person.is_some() || own.hub.mfa_enrolment_required() {
        return Ok(());
    }
    let remember = own.remembered()?;
    for a in mailboxes.open_shared(own, password, remember).await {
        let line = format!(
            "added the shared mailbox {} (choose it with --account {} --as {})",
            a.email,
            a.email,
            a.person.as_deref().unwrap_or_default()
        );
        if on_stderr {
            eprintln!("{line}");
        } else {
            say!("{line}");
        }
    }
    Ok(())
}

/// Signs in, asking for the two-step code when the account has one and none was given;
/// tells when the organisation wants two-step sign-in turned on.
async fn sign_in_asking(
    mailbox: &Mailbox,
    password: &str,
    code: Option<&str>,
    remember: bool,
) -> Result<(), ClientError> {
    match mailbox.sign_in_with_code(password, code, remember).await {
        Err(e) if e.code() == Code::MfaRequired && code.is_none() => {
            let code = read_line("Code from your authenticator app (or a recovery code): ")?;
            mailbox
                .sign_in_with_code(password, Some(&code), remember)
                .await?;
        }
        other => other?,
    }
    if mailbox.hub.mfa_enrolment_required() {
        eprintln!(
            "Your organisation requires two-step sign-in: turn it on with `sealpost mfa on` \
             before anything else."
        );
    }
    Ok(())
}

/// Shows transfers on a terminal's stderr: "name: 45% of 75.0 MB".
fn show_progress(mailbox: &Mailbox) {
    if !std::io::stderr().is_terminal() {
        return;
    }
    mailbox.set_progress(Some(Arc::new(|name: &str, done: u64, total: u64| {
        if total == 0 {
            return;
        }
        let percent = done * 100 / total;
        eprint!(
            "\r{name}: {percent:>3}% of {:.1} MB",
            total as f64 / 1_000_000.0
        );
        if done >= total {
            eprintln!();
        }
    })));
}

fn print_json(value: &impl serde::Serialize) {
    say!(
        "{}",
        serde_json::to_string_pretty(value).expect("BUG: output serialises")
    );
}

async fn run(mut cli: Cli) -> Result<(), ClientError> {
    let mailboxes = mailboxes()?;
    // An empty SEALPOST_ACCOUNT, SEALPOST_AS or SEALPOST_HUB counts as unset.
    for given in [&mut cli.account, &mut cli.as_person, &mut cli.hub] {
        *given = given.take().filter(|v| !v.trim().is_empty());
    }
    let (wanted, as_person, hub) = (cli.account.clone(), cli.as_person.clone(), cli.hub.clone());
    let result = run_with(cli, &mailboxes).await;
    if let Err(e) = &result {
        if e.code() == Code::AccessRemoved {
            // A shared mailbox whose access was taken away: its copy here goes too.
            if let Ok(m) = mailboxes.choose(wanted.as_deref(), as_person.as_deref(), hub.as_deref())
            {
                if m.account.person.is_some() {
                    mailboxes.forget_removed(&m.account.id);
                }
            }
        }
    }
    result
}

async fn run_with(cli: Cli, mailboxes: &Mailboxes) -> Result<(), ClientError> {
    let accounts = &mailboxes.accounts;
    let wanted = cli.account.as_deref();
    let as_person = cli.as_person.as_deref();
    let hub = cli.hub.as_deref();
    match cli.command {
        Command::Account { command } => match command {
            AccountCommand::Add { email } => {
                let hub = match hub {
                    Some(hub) => hub.to_owned(),
                    None => {
                        sealpost_client::system::load(&sealpost_client::system::settings_path())?
                            .hub_url
                            .ok_or_else(|| ClientError::Refused {
                                code: Code::Invalid,
                                message:
                                    "say which hub with --hub (no hub is set for this computer)"
                                        .into(),
                                refused: Vec::new(),
                            })?
                    }
                };
                let before = accounts.list()?.len();
                let record = accounts.add(&hub, &email)?;
                if cli.json {
                    print_json(&record);
                } else if accounts.list()?.len() == before {
                    say!("{} at {} is already here", record.email, record.hub_url);
                } else {
                    say!("added {} at {}", record.email, record.hub_url);
                }
            }
            AccountCommand::List => {
                let list = accounts.list()?;
                if cli.json {
                    print_json(&list);
                } else if list.is_empty() {
                    say!("no mailboxes yet");
                } else {
                    for a in list {
                        match &a.person {
                            Some(person) => say!("{}  (as {person})  {}", a.email, a.hub_url),
                            None => say!("{}  {}", a.email, a.hub_url),
                        }
                    }
                }
            }
            AccountCommand::Remove { email } => {
                // Found without opening it: a mailbox whose vault key the keyring lost
                // can be removed too.
                let record = mailboxes.choose_account(Some(&email), as_person, hub)?;
                mailboxes.remove(&record.id).await?;
                say!("removed {} and its local copy", record.email);
            }
        },
        Command::Register { link } => {
            let info = links::link_info(&link).await?;
            if info.kind != LinkKind::Register {
                return Err(ClientError::Refused {
                    code: Code::InvalidLink,
                    message: "that is a password-reset link, not a registration link; choose \
                              the new password on the page it opens"
                        .into(),
                    refused: Vec::new(),
                });
            }
            eprintln!("Registering {} with {}.", info.email, info.org_name);
            for rule in &info.rules.rules {
                eprintln!("  - {}", rule.description);
            }
            let password = read_new_password()?;
            let registered = mailboxes.register(&link, &password).await?;
            say!(
                "registered {}; sign in with `sealpost sign-in`",
                registered.email
            );
        }
        Command::SignIn { remember, code } => {
            let mailbox = mailboxes.choose(wanted, as_person, hub)?;
            let password = read_password(&format!("Password for {}: ", mailbox.account.email))?;
            sign_in_asking(&mailbox, &password, code.as_deref(), remember).await?;
            say!("signed in to {}", mailbox.label());
            open_shared_telling(mailboxes, &mailbox, Some(&password), false).await?;
        }
        Command::Mailbox { command } => {
            let mailbox = mailboxes.choose(wanted, as_person, hub)?;
            ensure_session(&mailbox).await?;
            let list = mailbox.delegates().await?;
            match command {
                MailboxCommand::People => {
                    if cli.json {
                        print_json(&list);
                    } else if list.items.is_empty() {
                        say!("nobody else works {} yet", list.mailbox);
                    } else {
                        for d in &list.items {
                            let state = if d.joined { "joined" } else { "invited" };
                            say!("{}  {}  {}  {state}", d.email, d.name, d.role);
                        }
                    }
                }
                MailboxCommand::Invite {
                    email,
                    name,
                    manager,
                } => {
                    let d = mailbox.invite_delegate(&email, &name, manager).await?;
                    say!(
                        "invited {} ({}) to {}; they were emailed",
                        d.name,
                        d.email,
                        list.mailbox
                    );
                }
                MailboxCommand::Remove { email } => {
                    let d = list
                        .items
                        .iter()
                        .find(|d| sealpost_proto::address::same(&d.email, &email))
                        .ok_or_else(|| ClientError::Refused {
                            code: Code::NotFound,
                            message: format!(
                                "{email} does not work {}; see `sealpost mailbox people`",
                                list.mailbox
                            ),
                            refused: Vec::new(),
                        })?;
                    mailbox.remove_delegate(&d.id).await?;
                    say!(
                        "removed {} from {}: their sessions have ended, and their computers \
                         delete its copy when they next connect",
                        d.email,
                        list.mailbox
                    );
                }
            }
        }
        Command::Mfa { command } => {
            let mailbox = mailboxes.choose(wanted, as_person, hub)?;
            ensure_session(&mailbox).await?;
            match command {
                MfaCommand::Status => {
                    let state = mailbox.mfa_state().await?;
                    if cli.json {
                        print_json(&state);
                    } else if state.enabled {
                        say!(
                            "two-step sign-in is on; {} recovery codes left",
                            state.recovery_codes_left
                        );
                    } else {
                        say!("two-step sign-in is off; turn it on with `sealpost mfa on`");
                    }
                }
                MfaCommand::On => {
                    let password = read_password(&format!(
                        "Password for {} (asked again before its sign-in changes): ",
                        mailbox.account.email
                    ))?;
                    let enrolment = mailbox.begin_mfa(&password).await?;
                    if std::io::stdout().is_terminal() {
                        say!(
                            "{}",
                            sealpost_client::mfa::qr_for_terminal(&enrolment.otpauth_uri)?
                        );
                    }
                    say!("Scan the code with your authenticator app, or type this key into it:");
                    say!("  {}", enrolment.secret);
                    say!("({})", enrolment.otpauth_uri);
                    let code = read_line("Code the app shows now: ")?;
                    let recovery = mailbox.confirm_mfa(&code).await?;
                    say!("Two-step sign-in is on. Keep these recovery codes somewhere safe, away from");
                    say!("your phone: each signs in once if the phone is lost. They are not shown again.");
                    for code in recovery {
                        say!("  {code}");
                    }
                    open_shared_telling(mailboxes, &mailbox, None, false).await?;
                }
                MfaCommand::Off { code } => {
                    let password = read_password(&format!(
                        "Password for {} (asked again before its sign-in changes): ",
                        mailbox.account.email
                    ))?;
                    let code = match code {
                        Some(c) => c,
                        None => {
                            read_line("Code from your authenticator app (or a recovery code): ")?
                        }
                    };
                    mailbox.disable_mfa(&password, &code).await?;
                    say!("two-step sign-in is off");
                }
            }
        }
        Command::SignOut => {
            let id = mailboxes.choose(wanted, as_person, hub)?.account.id.clone();
            mailboxes.sign_out(&id, None).await?;
            say!("signed out");
        }
        Command::Sync => {
            let mailbox = mailboxes.choose(wanted, as_person, hub)?;
            ensure_session(&mailbox).await?;
            show_progress(&mailbox);
            let flushed = mailbox.flush_outbox().await?;
            let report = mailbox.syncer.sync().await?;
            if cli.json {
                print_json(&serde_json::json!({
                    "new_mail": report.new_mail, "changed": report.changed,
                    "sent": flushed.sent.len(), "waiting": flushed.waiting, "failed": flushed.failed,
                }));
            } else {
                say!(
                    "{} new, {} changed; {} sent from the outbox",
                    report.new_mail,
                    report.changed,
                    flushed.sent.len()
                );
            }
            // Shared mailboxes this person was given since they signed in (told on
            // stderr: stdout is the sync's report).
            open_shared_telling(mailboxes, &mailbox, None, true).await?;
        }
        Command::List { folder, limit } => {
            let folder = match folder.as_str() {
                "inbox" => Folder::Inbox,
                "sent" => Folder::Sent,
                "drafts" => Folder::Drafts,
                "deleted" => Folder::Deleted,
                other => {
                    return Err(ClientError::Refused {
                        code: Code::Invalid,
                        message: format!("no folder {other:?}; use inbox, sent, drafts or deleted"),
                        refused: Vec::new(),
                    })
                }
            };
            let mailbox = mailboxes.choose(wanted, as_person, hub)?;
            let items = mailbox.vault.list(folder, limit, None)?;
            if cli.json {
                print_json(&items);
            } else {
                for m in items {
                    let mark = if m.read { ' ' } else { '*' };
                    let clip = if m.attachments.is_empty() {
                        ""
                    } else {
                        " [attachments]"
                    };
                    let subject = match &m.recalled_at {
                        Some(at) => withdrawn_line(at),
                        None => for_terminal(&m.subject, false),
                    };
                    say!(
                        "{mark} {}  {}  {}  {subject}{clip}",
                        m.id,
                        local_time(&m.sent_at),
                        m.from,
                    );
                }
            }
        }
        Command::Delete { ids } => {
            let mailbox = mailboxes.choose(wanted, as_person, hub)?;
            let ids: Vec<String> = ids.iter().map(|i| i.trim().to_owned()).collect();
            let for_good = mailbox.delete_many(&ids).await?;
            // As the app does: the hub hears now when it can, or with the next sync.
            if ensure_session(&mailbox).await.is_ok() {
                let _ = mailbox.flush_outbox().await;
            }
            let moved = ids.len().saturating_sub(for_good);
            say!("{for_good} deleted for good, {moved} moved to Deleted");
        }
        Command::Read { id } => {
            let mailbox = mailboxes.choose(wanted, as_person, hub)?;
            let (m, flagged) = mailbox.open_message(&id)?;
            // As the app does: the hub hears now when it can, or with the next sync.
            if flagged && ensure_session(&mailbox).await.is_ok() {
                let _ = mailbox.flush_outbox().await;
            }
            if cli.json {
                print_json(&m);
            } else if let Some(at) = &m.summary.recalled_at {
                say!("From:    {}", m.summary.from);
                say!("Date:    {}", local_time(&m.summary.sent_at));
                say!();
                say!("{}", withdrawn_line(at));
            } else {
                say!("From:    {}", m.summary.from);
                say!("To:      {}", m.summary.to.join(", "));
                if !m.summary.cc.is_empty() {
                    say!("Cc:      {}", m.summary.cc.join(", "));
                }
                say!("Date:    {}", local_time(&m.summary.sent_at));
                say!("Subject: {}", for_terminal(&m.summary.subject, false));
                say!("Expires: {}", local_time(&m.summary.expires_at));
                for a in &m.summary.attachments {
                    say!(
                        "Attachment: {} ({}, id {})",
                        for_terminal(&a.name, false),
                        bytes(a.size),
                        a.id
                    );
                }
                say!();
                say!("{}", for_terminal(&m.body_text, true));
            }
        }
        Command::SaveAttachment {
            id,
            name,
            to,
            force,
        } => {
            if !force && to.exists() {
                return Err(ClientError::Refused {
                    code: Code::Invalid,
                    message: format!(
                        "{} exists already and was left as it is; give another --to, or add \
                         --force to replace it",
                        to.display()
                    ),
                    refused: Vec::new(),
                });
            }
            let mailbox = mailboxes.choose(wanted, as_person, hub)?;
            let m = mailbox.vault.message(&id)?;
            let att = match m.summary.attachments.iter().find(|a| a.id == name) {
                Some(by_id) => by_id,
                None => {
                    let named: Vec<_> = m
                        .summary
                        .attachments
                        .iter()
                        .filter(|a| a.name == name)
                        .collect();
                    match named.as_slice() {
                        [one] => *one,
                        [] => return Err(ClientError::NotFound("attachment")),
                        several => {
                            let ids: Vec<String> = several
                                .iter()
                                .map(|a| format!("{} ({})", a.id, bytes(a.size)))
                                .collect();
                            return Err(ClientError::Refused {
                                code: Code::Invalid,
                                message: format!(
                                    "the message has {} attachments named {}; say which by id: {}",
                                    several.len(),
                                    for_terminal(&name, false),
                                    ids.join(", ")
                                ),
                                refused: Vec::new(),
                            });
                        }
                    }
                }
            };
            ensure_session(&mailbox).await?;
            show_progress(&mailbox);
            let written = mailbox.save_attachment(&id, &att.id, &to, force).await?;
            say!(
                "saved {} ({}) to {}",
                for_terminal(&att.name, false),
                bytes(written),
                to.display()
            );
        }
        Command::Send {
            to,
            cc,
            subject,
            body,
            body_file,
            attach,
            reply,
            reply_all,
            forward,
        } => {
            let mailbox = mailboxes.choose(wanted, as_person, hub)?;
            let body_text = match (body, body_file) {
                (Some(b), _) => b,
                (None, Some(f)) => std::fs::read_to_string(&f)?,
                (None, None) => String::new(),
            };
            let (mode, in_reply_to) = match (reply, reply_all, forward) {
                (Some(id), _, _) => (SendMode::Reply, Some(id)),
                (_, Some(id), _) => (SendMode::ReplyAll, Some(id)),
                (_, _, Some(id)) => (SendMode::Forward, Some(id)),
                _ => (SendMode::New, None),
            };
            // As the app does: an answer names what it answers, and quotes it below.
            let (subject, body_text) = match &in_reply_to {
                Some(id) => {
                    let answer = mailbox.answer(id, mode)?;
                    (
                        subject.unwrap_or(answer.subject),
                        format!("{body_text}{}", answer.body_text),
                    )
                }
                None => (subject.unwrap_or_default(), body_text),
            };
            let out = Outgoing {
                mode,
                to,
                cc,
                subject,
                body_text,
                forward_attachments: (mode == SendMode::Forward).then_some(true),
                in_reply_to,
                ..Default::default()
            };
            ensure_session(&mailbox).await.or_else(|e| {
                if e.code() == Code::Offline {
                    Ok(())
                } else {
                    Err(e)
                }
            })?;
            show_progress(&mailbox);
            match mailbox.send(out, &attach).await? {
                SendOutcome::Sent { message } => {
                    if cli.json {
                        print_json(&message);
                    } else {
                        say!("sent {}", message.id);
                    }
                }
                SendOutcome::Queued { outbox_id } => {
                    say!("the hub cannot be reached: queued (outbox #{outbox_id}); `sealpost sync` sends it");
                }
            }
        }
        Command::Search { text } => {
            let mailbox = mailboxes.choose(wanted, as_person, hub)?;
            let hits = mailbox.vault.search(&text, 50)?;
            if cli.json {
                print_json(&hits);
            } else {
                for h in hits {
                    say!(
                        "{}  {}  {}\n    {}",
                        h.message.id,
                        h.message.from,
                        for_terminal(&h.message.subject, false),
                        for_terminal(&h.excerpt, false)
                    );
                }
            }
        }
    }
    Ok(())
}
