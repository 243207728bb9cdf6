//! The app's commands: each takes the state, calls the client core, and maps the error.

use std::path::PathBuf;

use sealpost_client::{
    links::{parse_link, LinkKind},
    outbox::{Pending, SendOutcome},
    policy::AddressCheck,
    vault::SearchHit,
    ClientError, Code, Compose,
};
use sealpost_proto::{
    Contact, ContactInput, Folder, Group, GroupInput, Message, MessageSummary, PasswordRules,
    SendMode,
};
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, State};
use tauri_plugin_dialog::DialogExt;
use tauri_plugin_opener::OpenerExt;

use crate::error::{UiError, UiResult};
use crate::session::{AccountView, Desk};

/// What the UI needs to know at start.
#[derive(Serialize, specta::Type)]
pub struct AppInfo {
    /// Seconds of inactivity before the window locks, when set for this computer
    /// (`SEALPOST_IDLE_SECONDS`); otherwise each hub's idle timeout applies.
    idle_seconds: Option<u64>,
    launch_link: Option<String>,
    fatal: Option<String>,
    version: &'static str,
}

#[tauri::command]
#[specta::specta]
pub fn app_info(desk: State<'_, Desk>) -> AppInfo {
    AppInfo {
        idle_seconds: desk.idle_seconds,
        launch_link: desk.launch_link.lock().expect("BUG: poisoned").take(),
        fatal: desk.fatal.clone(),
        version: env!("CARGO_PKG_VERSION"),
    }
}

#[tauri::command]
#[specta::specta]
pub fn accounts(app: AppHandle, desk: State<'_, Desk>) -> UiResult<Vec<AccountView>> {
    let mut views = Vec::new();
    for record in desk.accounts.list()? {
        let mailbox = desk.mailbox(&app, &record.id)?;
        views.push(desk.view(&mailbox));
    }
    Ok(views)
}

/// A link from an email, read.
#[derive(Serialize, specta::Type)]
pub struct LinkInfo {
    kind: LinkKind,
    hub_url: String,
    email: Option<String>,
    org_name: Option<String>,
    rules: Option<PasswordRules>,
}

#[tauri::command]
#[specta::specta]
pub async fn link_info(link: String) -> UiResult<LinkInfo> {
    let parsed = parse_link(&link)?;
    let mut info = LinkInfo {
        kind: parsed.kind,
        hub_url: parsed.hub_url.clone(),
        email: None,
        org_name: None,
        rules: None,
    };
    // A used or expired link is refused here, before a password is chosen for it.
    let hub = sealpost_client::hub::HubClient::new(&parsed.hub_url)?;
    let details = match parsed.kind {
        LinkKind::Register => hub.registration_info(&parsed.token).await?,
        LinkKind::Reset => hub.reset_info(&parsed.token).await?,
    };
    info.email = Some(details.email);
    info.org_name = Some(details.org_name);
    info.rules = Some(details.password_rules);
    Ok(info)
}

#[tauri::command]
#[specta::specta]
pub async fn register(
    app: AppHandle,
    desk: State<'_, Desk>,
    link: String,
    password: String,
    remember: bool,
) -> UiResult<AccountView> {
    let parsed = parse_link(&link)?;
    let record = desk.accounts.register(&parsed, &password).await?;
    let mailbox = desk.mailbox(&app, &record.id)?;
    mailbox.sign_in(&password, remember).await?;
    mailbox.syncer.sync().await?;
    desk.start_sync(&app, mailbox.clone());
    Ok(desk.view(&mailbox))
}

#[tauri::command]
#[specta::specta]
pub async fn sign_in(
    app: AppHandle,
    desk: State<'_, Desk>,
    hub_url: String,
    email: String,
    password: String,
    remember: bool,
) -> UiResult<AccountView> {
    let known = desk.accounts.list()?;
    let record = desk.accounts.add(&hub_url, &email)?;
    let is_new = !known.iter().any(|a| a.id == record.id);
    let mailbox = desk.mailbox(&app, &record.id)?;
    if let Err(e) = mailbox.sign_in(&password, remember).await {
        if is_new {
            // A mistyped address or hub must not leave an empty mailbox behind.
            desk.close(&record.id);
            let _ = desk.accounts.remove(&record.id);
        }
        return Err(e.into());
    }
    match mailbox.syncer.sync().await {
        Ok(_) => {}
        Err(e) if e.code() == Code::Offline => {}
        Err(e) => return Err(e.into()),
    }
    desk.start_sync(&app, mailbox.clone());
    Ok(desk.view(&mailbox))
}

/// Continues a remembered session (Remember me), or says sign-in is needed.
#[tauri::command]
#[specta::specta]
pub async fn resume(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
) -> UiResult<AccountView> {
    let mailbox = desk.mailbox(&app, &account)?;
    if mailbox.is_locked() || (!mailbox.remembered()? && !mailbox.hub.signed_in()) {
        return Err(ClientError::SignInRequired.into());
    }
    match mailbox.syncer.sync().await {
        Ok(_) => {}
        // Offline with Remember me: the vault is readable; sync starts when the hub is back.
        Err(e) if e.code() == Code::Offline => {}
        Err(e) => return Err(e.into()),
    }
    desk.start_sync(&app, mailbox.clone());
    Ok(desk.view(&mailbox))
}

/// Asks for a reset email; returns how many minutes its link works.
#[tauri::command]
#[specta::specta]
pub async fn request_reset(hub_url: String, email: String) -> UiResult<i64> {
    let hub = sealpost_client::hub::HubClient::new(&hub_url)?;
    Ok(hub.request_reset(&email).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn confirm_reset(link: String, password: String) -> UiResult<()> {
    let parsed = parse_link(&link)?;
    if parsed.kind != LinkKind::Reset {
        return Err(UiError::new(
            Code::InvalidLink,
            "That is a registration link; use it on the Register screen.",
        ));
    }
    let hub = sealpost_client::hub::HubClient::new(&parsed.hub_url)?;
    Ok(hub.confirm_reset(&parsed.token, &password).await?)
}

/// Where a page of a folder starts: after this listed message.
#[derive(Deserialize, specta::Type)]
pub struct After {
    sent_at: String,
    id: String,
}

#[tauri::command]
#[specta::specta]
pub async fn list(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    folder: Folder,
    limit: u32,
    after: Option<After>,
) -> UiResult<Vec<MessageSummary>> {
    let mailbox = desk.mailbox(&app, &account)?;
    Ok(mailbox.vault.list_after(
        folder,
        limit,
        after.as_ref().map(|a| (a.sent_at.as_str(), a.id.as_str())),
    )?)
}

#[tauri::command]
#[specta::specta]
pub async fn search(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    query: String,
) -> UiResult<Vec<SearchHit>> {
    let mailbox = desk.mailbox(&app, &account)?;
    Ok(mailbox.vault.search(&query, 200)?)
}

/// Opens a message, marking it read.
#[tauri::command]
#[specta::specta]
pub async fn open_message(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    id: String,
) -> UiResult<Message> {
    let mailbox = desk.mailbox(&app, &account)?;
    let message = mailbox.vault.message(&id)?;
    if !message.summary.read && message.summary.folder == Folder::Inbox {
        // Read at once in the vault; the hub hears behind the scenes (now, or when it
        // answers again), so opening never waits for the network.
        mailbox.queue_read(&id, true)?;
        tauri::async_runtime::spawn(async move {
            if let Err(e) = mailbox.flush_outbox().await {
                tracing::debug!(error = %e, "the read flag waits for the hub");
            }
        });
    }
    Ok(message)
}

#[tauri::command]
#[specta::specta]
pub async fn delete_message(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    id: String,
) -> UiResult<()> {
    let mailbox = desk.mailbox(&app, &account)?;
    Ok(mailbox.delete(&id).await?)
}

/// Where an attachment was saved.
#[derive(Serialize, specta::Type)]
pub struct Saved {
    path: String,
    bytes: u64,
}

/// Asks where to save an attachment (the system's save dialog), then writes it there.
#[tauri::command]
#[specta::specta]
pub async fn save_attachment(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    message_id: String,
    attachment_id: String,
    name: String,
) -> UiResult<Option<Saved>> {
    let mailbox = desk.mailbox(&app, &account)?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Save attachment")
        .set_file_name(&name)
        .save_file(move |path| {
            let _ = tx.send(path);
        });
    let Some(chosen) = rx.await.ok().flatten() else {
        return Ok(None);
    };
    let path = chosen
        .into_path()
        .map_err(|_| UiError::new(Code::Invalid, "Choose a folder on this computer."))?;
    // The save dialog asked before replacing a file.
    let bytes = mailbox
        .save_attachment(&message_id, &attachment_id, &path, true)
        .await?;
    Ok(Some(Saved {
        path: path.display().to_string(),
        bytes,
    }))
}

/// A file chosen to attach.
#[derive(Serialize, specta::Type)]
pub struct Picked {
    path: String,
    name: String,
    size: u64,
}

fn picked(paths: Vec<PathBuf>) -> UiResult<Vec<Picked>> {
    paths
        .into_iter()
        .filter(|p| p.is_file())
        .map(|p| {
            let size = std::fs::metadata(&p)
                .map_err(|e| {
                    UiError::new(
                        Code::Invalid,
                        format!("The file {} cannot be read: {e}.", p.display()),
                    )
                })?
                .len();
            Ok(Picked {
                name: p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                path: p.display().to_string(),
                size,
            })
        })
        .collect()
}

/// The system's open dialog, several files at once.
#[tauri::command]
#[specta::specta]
pub async fn pick_files(app: AppHandle) -> UiResult<Vec<Picked>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.dialog()
        .file()
        .set_title("Attach files")
        .pick_files(move |paths| {
            let _ = tx.send(paths);
        });
    let paths = rx
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.into_path().ok())
        .collect();
    picked(paths)
}

/// Names and sizes of files dropped on the window.
#[tauri::command]
#[specta::specta]
pub fn file_info(paths: Vec<PathBuf>) -> UiResult<Vec<Picked>> {
    picked(paths)
}

/// Recipient entries as typed, each checked as an address and against the organisation's
/// domains (the rule the hub applies).
#[tauri::command]
#[specta::specta]
pub fn check_addresses(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    entries: Vec<String>,
) -> UiResult<AddressCheck> {
    Ok(desk.mailbox(&app, &account)?.check_addresses(&entries)?)
}

/// Who an answer to a message reaches, as the hub will work it out.
#[tauri::command]
#[specta::specta]
pub fn reply_audience(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    message_id: String,
    mode: SendMode,
) -> UiResult<Vec<String>> {
    Ok(desk
        .mailbox(&app, &account)?
        .reply_audience(&message_id, mode)?)
}

/// The messages being written in a mailbox, most recent first (what a crash or a restart
/// left, or a lock kept open).
#[tauri::command]
#[specta::specta]
pub fn composes(app: AppHandle, desk: State<'_, Desk>, account: String) -> UiResult<Vec<Compose>> {
    Ok(desk.mailbox(&app, &account)?.composes()?)
}

/// Keeps the compose as it is being written (on this computer; the window calls it as the
/// person types).
#[tauri::command]
#[specta::specta]
pub fn keep_compose(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    compose: Compose,
) -> UiResult<Compose> {
    Ok(desk.mailbox(&app, &account)?.keep_compose(compose)?)
}

#[tauri::command]
#[specta::specta]
pub async fn send_compose(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    compose: Compose,
) -> UiResult<SendOutcome> {
    let mailbox = desk.mailbox(&app, &account)?;
    Ok(mailbox.send_compose(compose).await?)
}

/// Saves the compose as a draft and closes it.
#[tauri::command]
#[specta::specta]
pub async fn save_compose(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    compose: Compose,
) -> UiResult<SendOutcome> {
    let mailbox = desk.mailbox(&app, &account)?;
    Ok(mailbox.save_compose(compose, false).await?.0)
}

#[tauri::command]
#[specta::specta]
pub async fn discard_compose(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    compose: Compose,
) -> UiResult<()> {
    let mailbox = desk.mailbox(&app, &account)?;
    Ok(mailbox.discard_compose(&compose).await?)
}

/// The compose of a draft from the Drafts folder.
#[tauri::command]
#[specta::specta]
pub fn open_draft(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    id: String,
) -> UiResult<Compose> {
    Ok(desk.mailbox(&app, &account)?.compose_for_draft(&id)?)
}

#[tauri::command]
#[specta::specta]
pub async fn delete_draft(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    id: String,
) -> UiResult<()> {
    let mailbox = desk.mailbox(&app, &account)?;
    Ok(mailbox.delete_draft(&id).await?)
}

#[tauri::command]
#[specta::specta]
pub fn pending(app: AppHandle, desk: State<'_, Desk>, account: String) -> UiResult<Vec<Pending>> {
    Ok(desk.mailbox(&app, &account)?.pending()?)
}

/// Contacts and groups.
#[derive(Serialize, specta::Type)]
pub struct AddressBook {
    contacts: Vec<Contact>,
    groups: Vec<Group>,
}

#[tauri::command]
#[specta::specta]
pub fn address_book(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
) -> UiResult<AddressBook> {
    let mailbox = desk.mailbox(&app, &account)?;
    Ok(AddressBook {
        contacts: mailbox.vault.contacts()?,
        groups: mailbox.vault.groups()?,
    })
}

#[tauri::command]
#[specta::specta]
pub async fn save_contact(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    id: Option<String>,
    contact: ContactInput,
) -> UiResult<Contact> {
    let mailbox = desk.mailbox(&app, &account)?;
    Ok(mailbox.save_contact(id.as_deref(), &contact).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn delete_contact(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    id: String,
) -> UiResult<()> {
    let mailbox = desk.mailbox(&app, &account)?;
    Ok(mailbox.delete_contact(&id).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn save_group(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    id: Option<String>,
    group: GroupInput,
) -> UiResult<Group> {
    let mailbox = desk.mailbox(&app, &account)?;
    Ok(mailbox.save_group(id.as_deref(), &group).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn delete_group(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    id: String,
) -> UiResult<()> {
    let mailbox = desk.mailbox(&app, &account)?;
    Ok(mailbox.delete_group(&id).await?)
}

/// The compose in progress when the app locks.
#[derive(Deserialize, specta::Type)]
pub struct InProgress {
    account: String,
    compose: Compose,
}

/// Locks every open mailbox; the compose in progress is saved as a draft and kept open for
/// after the unlock. Returns whether a draft was saved (at the hub, or queued for it).
#[tauri::command]
#[specta::specta]
pub async fn lock(desk: State<'_, Desk>, compose: Option<InProgress>) -> UiResult<bool> {
    let mut saved = false;
    let mut first_error = None;
    for mailbox in desk.open_mailboxes() {
        desk.stop_sync(&mailbox.account.id);
        let draft = compose
            .as_ref()
            .filter(|c| c.account == mailbox.account.id)
            .map(|c| c.compose.clone());
        let had_draft = draft.as_ref().is_some_and(Compose::has_content);
        // The mailbox locks even when the draft fails; the compose then stays kept here.
        match mailbox.lock(draft).await {
            Ok(_) => saved |= had_draft,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Err(e.into()),
        None => Ok(saved),
    }
}

#[tauri::command]
#[specta::specta]
pub async fn unlock(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    password: String,
) -> UiResult<AccountView> {
    let mailbox = desk.mailbox(&app, &account)?;
    mailbox.unlock(&password).await?;
    desk.start_sync(&app, mailbox.clone());
    Ok(desk.view(&mailbox))
}

/// Signs out of one mailbox: the compose in progress is saved as a draft (and kept for the
/// next sign-in), the hub ends the session and Remember me is deleted.
#[tauri::command]
#[specta::specta]
pub async fn sign_out(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    compose: Option<Compose>,
) -> UiResult<()> {
    let mailbox = desk.mailbox(&app, &account)?;
    desk.stop_sync(&account);
    Ok(mailbox.sign_out(compose).await?)
}

/// Removes a mailbox from this computer (its local copy and keyring entries).
#[tauri::command]
#[specta::specta]
pub async fn remove_account(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
) -> UiResult<()> {
    if let Ok(mailbox) = desk.mailbox(&app, &account) {
        let _ = mailbox.sign_out(None).await;
    }
    desk.close(&account);
    Ok(desk.accounts.remove(&account)?)
}

/// Opens a link from a message in the system browser (the UI has asked first).
#[tauri::command]
#[specta::specta]
pub fn open_link(app: AppHandle, url: String) -> UiResult<()> {
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("https://")
        || lower.starts_with("http://")
        || lower.starts_with("mailto:"))
    {
        return Err(UiError::new(
            Code::Invalid,
            "Only web and email links can be opened.",
        ));
    }
    app.opener().open_url(&url, None::<&str>).map_err(|e| {
        UiError::new(
            Code::Internal,
            format!("The browser could not be opened: {e}"),
        )
    })
}
