//! The app's commands: each takes the state, calls the client core, and maps the error.

use std::path::PathBuf;

use sealpost_client::mfa::Enrolment;
use sealpost_client::{
    links::{self, LinkInfo},
    outbox::{Pending, SendOutcome},
    policy::{AddressCheck, ReplyAudience},
    vault::SearchHit,
    Code, Compose,
};
use sealpost_proto::{
    Contact, ContactInput, Folder, Group, GroupInput, Message, MessageSummary, MfaState, SendMode,
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
    /// The organisation's hub, as the IT department set it for this computer: the sign-in
    /// screens use it and do not ask.
    hub_url: Option<String>,
    /// Whether the app may ask its hubs for updates (the IT department can turn it off).
    updates: bool,
    /// Why the IT department's settings for this computer are not used.
    settings_problem: Option<String>,
}

#[tauri::command]
#[specta::specta]
pub fn app_info(desk: State<'_, Desk>) -> AppInfo {
    AppInfo {
        idle_seconds: desk.idle_seconds,
        launch_link: desk.launch_link.lock().expect("BUG: poisoned").take(),
        fatal: desk.fatal.clone(),
        version: env!("CARGO_PKG_VERSION"),
        hub_url: desk.system.hub_url.clone(),
        updates: desk.system.updates,
        settings_problem: desk.system_problem.clone(),
    }
}

#[tauri::command]
#[specta::specta]
pub fn accounts(desk: State<'_, Desk>) -> UiResult<Vec<AccountView>> {
    let mut views = Vec::new();
    for record in desk.mailboxes.accounts.list()? {
        views.push(desk.view(&*desk.mailboxes.get(&record.id)?));
    }
    Ok(views)
}

/// A link from an email, read and checked with its hub.
#[tauri::command]
#[specta::specta]
pub async fn link_info(link: String) -> UiResult<LinkInfo> {
    Ok(links::link_info(&link).await?)
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
    let mailbox = desk
        .mailboxes
        .register_and_sign_in(&link, &password, remember)
        .await?;
    desk.start_sync(&app, mailbox.clone());
    desk.start_shared_syncs(&app, &mailbox);
    Ok(desk.view(&mailbox))
}

/// What the sign-in screen sends.
#[derive(Deserialize, specta::Type)]
pub struct SignInForm {
    hub_url: String,
    /// The mailbox's address, or a named delegate's own.
    email: String,
    password: String,
    remember: bool,
    /// The two-step code, once the hub asked for it.
    mfa_code: Option<String>,
    /// The shared mailbox being signed in to again, when its named person signs in.
    account: Option<String>,
}

#[tauri::command]
#[specta::specta]
pub async fn sign_in(
    app: AppHandle,
    desk: State<'_, Desk>,
    form: SignInForm,
) -> UiResult<AccountView> {
    let mailbox = desk
        .mailboxes
        .sign_in_to(
            form.account.as_deref(),
            &form.hub_url,
            &form.email,
            &form.password,
            form.mfa_code.as_deref(),
            form.remember,
        )
        .await?;
    desk.start_sync(&app, mailbox.clone());
    desk.start_shared_syncs(&app, &mailbox);
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
    let mailbox = desk.mailboxes.resume(&account).await?;
    desk.start_sync(&app, mailbox.clone());
    desk.start_shared_syncs(&app, &mailbox);
    Ok(desk.view(&mailbox))
}

/// Asks for a reset email; returns how many minutes its link works.
#[tauri::command]
#[specta::specta]
pub async fn request_reset(desk: State<'_, Desk>, hub_url: String, email: String) -> UiResult<i64> {
    Ok(desk.mailboxes.request_reset(&hub_url, &email).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn confirm_reset(desk: State<'_, Desk>, link: String, password: String) -> UiResult<()> {
    Ok(desk.mailboxes.confirm_reset(&link, &password).await?)
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
    desk: State<'_, Desk>,
    account: String,
    folder: Folder,
    limit: u32,
    after: Option<After>,
) -> UiResult<Vec<MessageSummary>> {
    let mailbox = desk.mailboxes.get(&account)?;
    Ok(mailbox.vault.list_after(
        folder,
        limit,
        after.as_ref().map(|a| (a.sent_at.as_str(), a.id.as_str())),
    )?)
}

#[tauri::command]
#[specta::specta]
pub async fn search(
    desk: State<'_, Desk>,
    account: String,
    query: String,
) -> UiResult<Vec<SearchHit>> {
    let mailbox = desk.mailboxes.get(&account)?;
    Ok(mailbox.vault.search(&query, 200)?)
}

/// Opens a message, marking it read.
#[tauri::command]
#[specta::specta]
pub async fn open_message(desk: State<'_, Desk>, account: String, id: String) -> UiResult<Message> {
    let mailbox = desk.mailboxes.get(&account)?;
    let (message, flagged) = mailbox.open_message(&id)?;
    if flagged {
        // The hub hears behind the scenes (now, or when it answers again), so opening
        // never waits for the network.
        tauri::async_runtime::spawn(async move {
            if let Err(e) = mailbox.flush_outbox().await {
                tracing::debug!(error = %e, "the read flag waits for the hub");
            }
        });
    }
    Ok(message)
}

/// Deletes a message: to Deleted from the inbox or Sent, for good from Deleted. Returns
/// whether it went for good.
#[tauri::command]
#[specta::specta]
pub async fn delete_message(desk: State<'_, Desk>, account: String, id: String) -> UiResult<bool> {
    let mailbox = desk.mailboxes.get(&account)?;
    Ok(mailbox.delete(&id).await?)
}

/// Deletes several messages (a selection): each to Deleted, or for good from Deleted.
/// Returns how many went for good.
#[tauri::command]
#[specta::specta]
pub async fn delete_messages(
    desk: State<'_, Desk>,
    account: String,
    ids: Vec<String>,
) -> UiResult<u32> {
    let mailbox = desk.mailboxes.get(&account)?;
    Ok(mailbox.delete_many(&ids).await? as u32)
}

/// Moves several messages from Deleted back to where they came from (Undo of a bulk
/// delete).
#[tauri::command]
#[specta::specta]
pub async fn restore_messages(
    desk: State<'_, Desk>,
    account: String,
    ids: Vec<String>,
) -> UiResult<()> {
    let mailbox = desk.mailboxes.get(&account)?;
    Ok(mailbox.restore_many(&ids).await?)
}

/// Saves several messages as email files (with their attachments) into a folder chosen
/// once (the system's folder dialog).
#[tauri::command]
#[specta::specta]
pub async fn save_messages_as_email(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    ids: Vec<String>,
) -> UiResult<Option<SavedAll>> {
    let mailbox = desk.mailboxes.get(&account)?;
    let Some(folder) = ask_folder(&app, &desk, &account, "Save the messages in a folder").await?
    else {
        return Ok(None);
    };
    let files = mailbox.save_many_as_email(&ids, &folder).await?;
    Ok(Some(saved_all(&folder, files)))
}

/// Moves a message from Deleted back to where it was deleted from (Undo).
#[tauri::command]
#[specta::specta]
pub async fn restore_message(desk: State<'_, Desk>, account: String, id: String) -> UiResult<()> {
    let mailbox = desk.mailboxes.get(&account)?;
    Ok(mailbox.restore(&id).await?)
}

/// Deletes everything in Deleted for good; returns how many.
#[tauri::command]
#[specta::specta]
pub async fn empty_deleted(desk: State<'_, Desk>, account: String) -> UiResult<u32> {
    let mailbox = desk.mailboxes.get(&account)?;
    Ok(mailbox.empty_deleted().await? as u32)
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
    let mailbox = desk.mailboxes.get(&account)?;
    let name = sealpost_client::attachments::safe_file_name(&name);
    let Some(path) = ask_save_path(&app, &desk, &account, "Save attachment", &name, None).await?
    else {
        return Ok(None);
    };
    // The save dialog asked before replacing a file.
    let bytes = mailbox
        .save_attachment(&message_id, &attachment_id, &path, true)
        .await?;
    Ok(Some(Saved {
        path: path.display().to_string(),
        bytes,
    }))
}

/// The system's save dialog, opening where this mailbox last saved (else Downloads), for
/// a file named `name`; remembers the folder chosen. `None` when the person cancels.
async fn ask_save_path(
    app: &AppHandle,
    desk: &Desk,
    account: &str,
    title: &str,
    name: &str,
    filter: Option<(&str, &[&str])>,
) -> UiResult<Option<PathBuf>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut dialog = app.dialog().file().set_title(title).set_file_name(name);
    if let Some(folder) = save_folder(app, desk, account) {
        dialog = dialog.set_directory(folder);
    }
    if let Some((kind, extensions)) = filter {
        dialog = dialog.add_filter(kind, extensions);
    }
    dialog.save_file(move |path| {
        let _ = tx.send(path);
    });
    let Some(chosen) = rx.await.ok().flatten() else {
        return Ok(None);
    };
    let path = chosen
        .into_path()
        .map_err(|_| UiError::new(Code::Invalid, "Choose a folder on this computer."))?;
    if let Some(folder) = path.parent() {
        remember_save_folder(desk, account, folder);
    }
    Ok(Some(path))
}

/// Where this mailbox's next save dialog opens: the last folder used, else Downloads.
fn save_folder(app: &AppHandle, desk: &Desk, account: &str) -> Option<PathBuf> {
    desk.last_save_folder
        .lock()
        .expect("BUG: poisoned")
        .get(account)
        .cloned()
        .or_else(|| downloads(app))
}

fn remember_save_folder(desk: &Desk, account: &str, folder: &std::path::Path) {
    desk.last_save_folder
        .lock()
        .expect("BUG: poisoned")
        .insert(account.to_owned(), folder.to_owned());
}

/// What Save all wrote.
#[derive(Serialize, specta::Type)]
pub struct SavedAll {
    folder: String,
    files: Vec<Saved>,
}

/// Asks for a folder (the system's folder dialog, once), then saves every attachment of
/// the message into it; a name taken there gets a number, nothing is replaced.
#[tauri::command]
#[specta::specta]
pub async fn save_all_attachments(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    message_id: String,
) -> UiResult<Option<SavedAll>> {
    let mailbox = desk.mailboxes.get(&account)?;
    let title = "Save all attachments in a folder";
    let Some(folder) = ask_folder(&app, &desk, &account, title).await? else {
        return Ok(None);
    };
    let files = mailbox.save_all_attachments(&message_id, &folder).await?;
    Ok(Some(saved_all(&folder, files)))
}

fn saved_all(folder: &std::path::Path, files: Vec<sealpost_client::SavedFile>) -> SavedAll {
    SavedAll {
        folder: folder.display().to_string(),
        files: files
            .into_iter()
            .map(|f| Saved {
                path: f.path.display().to_string(),
                bytes: f.bytes,
            })
            .collect(),
    }
}

/// The system's folder dialog, opening where this mailbox last saved (else Downloads);
/// remembers the folder chosen. `None` when the person cancels.
async fn ask_folder(
    app: &AppHandle,
    desk: &Desk,
    account: &str,
    title: &str,
) -> UiResult<Option<PathBuf>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut dialog = app.dialog().file().set_title(title);
    if let Some(folder) = save_folder(app, desk, account) {
        dialog = dialog.set_directory(folder);
    }
    dialog.pick_folder(move |path| {
        let _ = tx.send(path);
    });
    let Some(chosen) = rx.await.ok().flatten() else {
        return Ok(None);
    };
    let folder = chosen
        .into_path()
        .map_err(|_| UiError::new(Code::Invalid, "Choose a folder on this computer."))?;
    remember_save_folder(desk, account, &folder);
    Ok(Some(folder))
}

/// Saves a message as an email file (`.eml`, with its attachments) where the person
/// chooses (the system's save dialog), for a case file.
#[tauri::command]
#[specta::specta]
pub async fn save_as_email(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    message_id: String,
) -> UiResult<Option<Saved>> {
    let mailbox = desk.mailboxes.get(&account)?;
    let name = mailbox.record_name(&message_id, "eml")?;
    let filter = Some(("Email", &["eml"][..]));
    let Some(path) = ask_save_path(&app, &desk, &account, "Save as email", &name, filter).await?
    else {
        return Ok(None);
    };
    let bytes = mailbox.save_as_email(&message_id, &path).await?;
    Ok(Some(Saved {
        path: path.display().to_string(),
        bytes,
    }))
}

/// Saves the open message as a PDF where the person chooses: the page as it prints.
#[tauri::command]
#[specta::specta]
pub async fn save_as_pdf(
    app: AppHandle,
    window: tauri::WebviewWindow,
    desk: State<'_, Desk>,
    account: String,
    message_id: String,
) -> UiResult<Option<Saved>> {
    let mailbox = desk.mailboxes.get(&account)?;
    let name = mailbox.record_name(&message_id, "pdf")?;
    let filter = Some(("PDF", &["pdf"][..]));
    let Some(path) = ask_save_path(&app, &desk, &account, "Save as PDF", &name, filter).await?
    else {
        return Ok(None);
    };
    crate::print::save_pdf(&window, &path)
        .await
        .map_err(|reason| {
            UiError::new(Code::Invalid, format!("The PDF was not saved: {reason}."))
        })?;
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    Ok(Some(Saved {
        path: path.display().to_string(),
        bytes,
    }))
}

/// The system's print dialog for the window's page (the open message, as it prints).
#[tauri::command]
#[specta::specta]
pub fn print(window: tauri::WebviewWindow) -> UiResult<()> {
    window.print().map_err(|e| {
        UiError::new(
            Code::Invalid,
            format!("The print dialog could not be opened: {e}."),
        )
    })
}

/// Brings every attachment of a message into the vault (encrypted), as a mail program
/// downloads a message whole: then they open, drag and save at once, also offline.
#[tauri::command]
#[specta::specta]
pub async fn fetch_attachments(
    desk: State<'_, Desk>,
    account: String,
    message_id: String,
) -> UiResult<()> {
    let mailbox = desk.mailboxes.get(&account)?;
    Ok(mailbox.fetch_attachments(&message_id).await?)
}

/// Starts dragging an attachment out of the window (the pointer's button is held): the
/// desktop receives a private copy, the user's to change, in the folder Open uses.
#[tauri::command]
#[specta::specta]
pub async fn drag_attachment(
    window: tauri::WebviewWindow,
    desk: State<'_, Desk>,
    account: String,
    message_id: String,
    attachment_id: String,
) -> UiResult<()> {
    let mailbox = desk.mailboxes.get(&account)?;
    let copy = match mailbox
        .copy_for_dragging(&message_id, &attachment_id, &desk.mailboxes.opened)
        .await
    {
        Err(e) if e.code() == Code::Invalid => {
            // Not downloaded yet: fetch it now, for the next try.
            let (mailbox, message_id) = (mailbox.clone(), message_id.clone());
            tauri::async_runtime::spawn(async move {
                let _ = mailbox.fetch_attachment(&message_id, &attachment_id).await;
            });
            return Err(e.into());
        }
        other => other?,
    };
    crate::drag::start(&window, &copy).map_err(|reason| {
        UiError::new(
            Code::Invalid,
            format!("The file could not be dragged: {reason}."),
        )
    })
}

/// Opens an attachment in the application the system chooses for its kind, from a private
/// read-only copy that goes when the app locks, signs out or quits.
#[tauri::command]
#[specta::specta]
pub async fn open_attachment(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    message_id: String,
    attachment_id: String,
) -> UiResult<()> {
    let mailbox = desk.mailboxes.get(&account)?;
    let copy = mailbox
        .copy_for_opening(&message_id, &attachment_id, &desk.mailboxes.opened)
        .await?;
    // The core refuses to copy a program or script for opening (`runs_code`): this point is
    // reached only by documents.
    app.opener()
        .open_path(copy.display().to_string(), None::<&str>)
        .map_err(|e| {
            tracing::warn!(error = %e, "no application opened an attachment");
            UiError::new(
                Code::Invalid,
                format!(
                    "This computer has no application set to open {}. Save it, then open it \
                     from your files.",
                    copy.file_name().unwrap_or_default().to_string_lossy()
                ),
            )
        })
}

/// Where a first save dialog opens: the person's Downloads folder, as the system names it,
/// or `~/Downloads` when it exists, else the home folder (never the app's working folder).
fn downloads(app: &AppHandle) -> Option<PathBuf> {
    use tauri::Manager;
    let paths = app.path();
    paths
        .download_dir()
        .ok()
        .filter(|d| d.is_dir())
        .or_else(|| {
            let home = paths.home_dir().ok()?;
            let downloads = home.join("Downloads");
            Some(if downloads.is_dir() { downloads } else { home })
        })
}

/// Shows how many messages are unread, in every mailbox together, in the window's title
/// and (where the desktop has one) on its taskbar or dock badge.
#[tauri::command]
#[specta::specta]
pub fn show_unread(app: AppHandle, count: u32) {
    use tauri::Manager;
    if let Some(window) = app.get_webview_window("main") {
        let title = match count {
            0 => "Sealpost".to_owned(),
            n => format!("Sealpost — {n} unread"),
        };
        let _ = window.set_title(&title);
        // Not every desktop has badges; the title says it anyway.
        let _ = window.set_badge_count((count > 0).then_some(i64::from(count)));
    }
    crate::tray::unread(&app, u64::from(count));
}

/// Marks a message read or unread: in the vault at once, at the hub now or when it answers.
#[tauri::command]
#[specta::specta]
pub async fn set_read(
    desk: State<'_, Desk>,
    account: String,
    id: String,
    read: bool,
) -> UiResult<()> {
    let mailbox = desk.mailboxes.get(&account)?;
    mailbox.queue_read(&id, read)?;
    // The hub hears behind the scenes, as when a message is opened: the window never waits
    // for the outbox.
    tauri::async_runtime::spawn(async move {
        if let Err(e) = mailbox.flush_outbox().await {
            tracing::debug!(error = %e, "the read flag waits for the hub");
        }
    });
    Ok(())
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
    desk: State<'_, Desk>,
    account: String,
    entries: Vec<String>,
) -> UiResult<AddressCheck> {
    Ok(desk.mailboxes.get(&account)?.check_addresses(&entries)?)
}

/// Who an answer to a message reaches, as the hub will work it out.
#[tauri::command]
#[specta::specta]
pub fn reply_audience(
    desk: State<'_, Desk>,
    account: String,
    message_id: String,
    mode: SendMode,
) -> UiResult<ReplyAudience> {
    Ok(desk
        .mailboxes
        .get(&account)?
        .reply_audience(&message_id, mode)?)
}

/// The messages being written in a mailbox, most recent first (what a crash or a restart
/// left, or a lock kept open).
#[tauri::command]
#[specta::specta]
pub fn composes(desk: State<'_, Desk>, account: String) -> UiResult<Vec<Compose>> {
    Ok(desk.mailboxes.get(&account)?.composes()?)
}

/// Keeps the compose as it is being written (on this computer; the window calls it as the
/// person types).
#[tauri::command]
#[specta::specta]
pub fn keep_compose(desk: State<'_, Desk>, account: String, compose: Compose) -> UiResult<Compose> {
    Ok(desk.mailboxes.get(&account)?.keep_compose(compose)?)
}

#[tauri::command]
#[specta::specta]
pub async fn send_compose(
    desk: State<'_, Desk>,
    account: String,
    compose: Compose,
) -> UiResult<SendOutcome> {
    let mailbox = desk.mailboxes.get(&account)?;
    Ok(mailbox.send_compose(compose).await?)
}

/// Saves the compose as a draft and closes it.
#[tauri::command]
#[specta::specta]
pub async fn save_compose(
    desk: State<'_, Desk>,
    account: String,
    compose: Compose,
) -> UiResult<SendOutcome> {
    let mailbox = desk.mailboxes.get(&account)?;
    Ok(mailbox.save_compose(compose, false).await?.0)
}

#[tauri::command]
#[specta::specta]
pub async fn discard_compose(
    desk: State<'_, Desk>,
    account: String,
    compose: Compose,
) -> UiResult<()> {
    let mailbox = desk.mailboxes.get(&account)?;
    Ok(mailbox.discard_compose(&compose).await?)
}

/// A compose answering a message: Reply, Reply to All or Forward.
#[tauri::command]
#[specta::specta]
pub fn answer(
    desk: State<'_, Desk>,
    account: String,
    message_id: String,
    mode: SendMode,
) -> UiResult<Compose> {
    Ok(desk.mailboxes.get(&account)?.answer(&message_id, mode)?)
}

/// The compose of a draft from the Drafts folder.
#[tauri::command]
#[specta::specta]
pub fn open_draft(desk: State<'_, Desk>, account: String, id: String) -> UiResult<Compose> {
    Ok(desk.mailboxes.get(&account)?.compose_for_draft(&id)?)
}

#[tauri::command]
#[specta::specta]
pub async fn delete_draft(desk: State<'_, Desk>, account: String, id: String) -> UiResult<()> {
    let mailbox = desk.mailboxes.get(&account)?;
    Ok(mailbox.delete_draft(&id).await?)
}

#[tauri::command]
#[specta::specta]
pub fn pending(desk: State<'_, Desk>, account: String) -> UiResult<Vec<Pending>> {
    Ok(desk.mailboxes.get(&account)?.pending()?)
}

/// Contacts and groups.
#[derive(Serialize, specta::Type)]
pub struct AddressBook {
    contacts: Vec<Contact>,
    groups: Vec<Group>,
}

#[tauri::command]
#[specta::specta]
pub fn address_book(desk: State<'_, Desk>, account: String) -> UiResult<AddressBook> {
    let mailbox = desk.mailboxes.get(&account)?;
    Ok(AddressBook {
        contacts: mailbox.vault.contacts()?,
        groups: mailbox.vault.groups()?,
    })
}

#[tauri::command]
#[specta::specta]
pub async fn save_contact(
    desk: State<'_, Desk>,
    account: String,
    id: Option<String>,
    contact: ContactInput,
) -> UiResult<Contact> {
    let mailbox = desk.mailboxes.get(&account)?;
    Ok(mailbox.save_contact(id.as_deref(), &contact).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn delete_contact(desk: State<'_, Desk>, account: String, id: String) -> UiResult<()> {
    let mailbox = desk.mailboxes.get(&account)?;
    Ok(mailbox.delete_contact(&id).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn save_group(
    desk: State<'_, Desk>,
    account: String,
    id: Option<String>,
    group: GroupInput,
) -> UiResult<Group> {
    let mailbox = desk.mailboxes.get(&account)?;
    Ok(mailbox.save_group(id.as_deref(), &group).await?)
}

#[tauri::command]
#[specta::specta]
pub async fn delete_group(desk: State<'_, Desk>, account: String, id: String) -> UiResult<()> {
    let mailbox = desk.mailboxes.get(&account)?;
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
    let compose = compose.map(|c| (c.account, c.compose));
    Ok(desk
        .mailboxes
        .lock_all(compose.as_ref().map(|(a, c)| (a.as_str(), c.clone())))
        .await?)
}

#[tauri::command]
#[specta::specta]
pub async fn unlock(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    password: String,
) -> UiResult<AccountView> {
    let mailbox = desk.mailboxes.unlock(&account, &password).await?;
    desk.start_sync(&app, mailbox.clone());
    Ok(desk.view(&mailbox))
}

/// Signs out of one mailbox: the compose in progress is saved as a draft (and kept for the
/// next sign-in), the hub ends the session and Remember me is deleted.
#[tauri::command]
#[specta::specta]
pub async fn sign_out(
    desk: State<'_, Desk>,
    account: String,
    compose: Option<Compose>,
) -> UiResult<()> {
    // The next person at this computer starts saving in Downloads, not in a case's folder.
    desk.last_save_folder
        .lock()
        .expect("BUG: poisoned")
        .remove(&account);
    Ok(desk.mailboxes.sign_out(&account, compose).await?)
}

/// Removes a mailbox from this computer (its local copy and keyring entries).
#[tauri::command]
#[specta::specta]
pub async fn remove_account(desk: State<'_, Desk>, account: String) -> UiResult<()> {
    Ok(desk.mailboxes.remove(&account).await?)
}

/// The people who work the mailbox under their own names, and whether this person may
/// invite and remove them.
#[tauri::command]
#[specta::specta]
pub async fn delegates(
    desk: State<'_, Desk>,
    account: String,
) -> UiResult<sealpost_proto::DelegateList> {
    Ok(desk.mailboxes.get(&account)?.delegates().await?)
}

/// Invites a person to work the mailbox as themselves; they are emailed an invitation.
#[tauri::command]
#[specta::specta]
pub async fn invite_delegate(
    desk: State<'_, Desk>,
    account: String,
    email: String,
    name: String,
    manager: bool,
) -> UiResult<sealpost_proto::Delegate> {
    Ok(desk
        .mailboxes
        .get(&account)?
        .invite_delegate(&email, &name, manager)
        .await?)
}

/// Takes a delegate's access away: their sessions end and their computers delete their
/// copies.
#[tauri::command]
#[specta::specta]
pub async fn remove_delegate(desk: State<'_, Desk>, account: String, id: String) -> UiResult<()> {
    Ok(desk.mailboxes.get(&account)?.remove_delegate(&id).await?)
}

/// Whether two-step sign-in is on for the mailbox.
#[tauri::command]
#[specta::specta]
pub async fn mfa_state(desk: State<'_, Desk>, account: String) -> UiResult<MfaState> {
    Ok(desk.mailboxes.get(&account)?.mfa_state().await?)
}

/// Starts turning two-step sign-in on: the QR code and secret for the authenticator app.
#[tauri::command]
#[specta::specta]
pub async fn begin_mfa(
    desk: State<'_, Desk>,
    account: String,
    password: String,
) -> UiResult<Enrolment> {
    Ok(desk.mailboxes.get(&account)?.begin_mfa(&password).await?)
}

/// Turns two-step sign-in on with the app's first code; the recovery codes, shown once.
/// Sync starts if it waited for this (the organisation's `require_mfa`).
#[tauri::command]
#[specta::specta]
pub async fn confirm_mfa(
    app: AppHandle,
    desk: State<'_, Desk>,
    account: String,
    code: String,
) -> UiResult<Vec<String>> {
    let mailbox = desk.mailboxes.get(&account)?;
    let codes = mailbox.confirm_mfa(&code).await?;
    desk.start_sync(&app, mailbox.clone());
    if mailbox.account.person.is_none() {
        // Under `require_mfa` the shared mailboxes wait for this; they open now.
        let remember = mailbox.remembered()?;
        desk.mailboxes.open_shared(&mailbox, None, remember).await;
        desk.start_shared_syncs(&app, &mailbox);
    }
    Ok(codes)
}

/// Turns two-step sign-in off with the password and a current code or an unused recovery
/// code.
#[tauri::command]
#[specta::specta]
pub async fn disable_mfa(
    desk: State<'_, Desk>,
    account: String,
    password: String,
    code: String,
) -> UiResult<()> {
    Ok(desk
        .mailboxes
        .get(&account)?
        .disable_mfa(&password, &code)
        .await?)
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
