//! How `sealpost-hub admin` says what it found, for people: aligned tables and one line per
//! figure. Scripts get the same reports as JSON (`--json`) and never read these words.

use sealpost_proto::say;

use super::{count, print_table, when};
use crate::admin::{TokenView, UserView};
use crate::check::CheckReport;
use crate::retention::PurgeReport;
use crate::store::{AuditEntry, Stats};

/// `admin user list`.
pub fn users(users: &[UserView]) {
    if users.is_empty() {
        say!("no users yet");
        return;
    }
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

/// `admin user show`.
pub fn user(u: &UserView) {
    say!("email:            {}", u.email);
    say!("status:           {}", u.status);
    say!("locked until:     {}", when(u.locked_until));
    say!("failed sign-ins:  {}", u.failed_sign_ins);
    say!("created:          {}", when(Some(u.created_at)));
    say!("registered:       {}", when(u.registered_at));
    say!("last sign-in:     {}", when(u.last_sign_in_at));
    say!("inbox:            {} ({} unread)", u.inbox, u.unread);
    say!("signed-in devices: {}", u.sessions);
    say!("two-step sign-in: {}", if u.mfa { "on" } else { "off" });
    if u.shared_only {
        say!("shared-only:      yes (no password of its own)");
    }
    if !u.delegates.is_empty() {
        say!("delegates:        {}", u.delegates.join(", "));
    }
    if !u.delegate_of.is_empty() {
        say!("delegate of:      {}", u.delegate_of.join(", "));
    }
}

/// `admin mailbox delegates`.
pub fn delegates(list: &[sealpost_proto::Delegate]) {
    if list.is_empty() {
        say!("no delegates");
        return;
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|d| {
            vec![
                d.email.clone(),
                d.name.clone(),
                d.role.clone(),
                if d.joined { "joined" } else { "invited" }.to_owned(),
                d.added_by.clone(),
                d.added_at.clone(),
            ]
        })
        .collect();
    print_table(
        &["EMAIL", "NAME", "ROLE", "STATE", "ADDED BY", "ADDED"],
        &rows,
    );
}

/// `admin token list`.
pub fn org_tokens(tokens: &[TokenView]) {
    if tokens.is_empty() {
        say!("no org tokens");
        return;
    }
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

/// `admin audit`; `since` as the admin gave it (`24h`).
pub fn audit(entries: &[AuditEntry], since: &str) {
    if entries.is_empty() {
        say!("nothing in the audit log since {since} ago");
        return;
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                e.event.clone(),
                e.email.clone(),
                if e.person.is_empty() {
                    "-".to_owned()
                } else {
                    e.person.clone()
                },
                if e.device.is_empty() {
                    "-".to_owned()
                } else {
                    e.device.clone()
                },
                e.ip.clone(),
                e.detail.clone(),
            ]
        })
        .collect();
    print_table(
        &[
            "TIME (UTC)",
            "EVENT",
            "MAILBOX",
            "PERSON",
            "DEVICE",
            "FROM",
            "DETAIL",
        ],
        &rows,
    );
}

/// `admin purge [--dry-run]`.
pub fn purge(r: &PurgeReport, dry_run: bool) {
    let left = &r.leftovers;
    if dry_run {
        say!(
            "would delete {} with {}, {} left by crashes ({}) and {} (nothing \
                     was changed)",
            count(r.messages, "expired message", "expired messages"),
            count(r.attachments, "attachment file", "attachment files"),
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
            count(r.messages, "expired message", "expired messages"),
            count(r.attachments, "attachment file", "attachment files"),
            count(r.uploads, "unused upload", "unused uploads"),
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

/// `admin stats`.
pub fn stats(s: &Stats) {
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

/// `admin rotate-master-key`.
pub fn rotation(r: &crate::rotation::Rotation) {
    say!(
        "rotated the master key in {:.1} s: {} re-wrapped, {} re-sealed",
        r.millis as f64 / 1000.0,
        count(r.mailboxes, "mailbox's keys", "mailboxes' keys"),
        count(
            r.resealed,
            "queued email or upload",
            "queued emails and uploads"
        )
    );
    say!(
        "the new master key is {} (public key {})",
        r.key_file.display(),
        r.public_key
    );
    say!(
        "the old key opens nothing in this hub any more; back up the new file now, apart from \
         the database (database backups made before now still need the old key)"
    );
}

/// `admin backup`.
pub fn backup(r: &crate::backup::BackupReport) {
    say!(
        "backed up {} in {} ({}, {} encrypted files, {}) to {}",
        count(r.mailboxes, "mailbox", "mailboxes"),
        r.taken_at,
        count(r.messages, "message", "messages"),
        r.files,
        sealpost_proto::text::megabytes(r.bytes),
        r.path
    );
    if !r.missing_files.is_empty() {
        say!(
            "{} deleted while the backup ran (the hub deleted what referred to them \
             meanwhile); after a restore, `admin check --repair` forgets them",
            count(r.missing_files.len() as u64, "file was", "files were")
        );
    }
    say!("master.key is not in the backup: keep its own backup apart from this one");
}

/// `admin migrate-store`.
pub fn migrated(m: &crate::migrate_store::Migration) {
    if m.tables.is_empty() {
        return;
    }
    let rows: u64 = m.tables.iter().map(|t| t.rows).sum();
    let copied: u64 = m.tables.iter().map(|t| t.copied).sum();
    // Rows the new database made itself (its schema's own settings) are verified but not
    // copied; say so only when the counts differ.
    let copied = if copied == rows {
        String::new()
    } else {
        format!(
            " ({copied} copied by this run; the others were made by the database's schema \
             or by an earlier run)"
        )
    };
    say!(
        "moved the hub: {rows} rows verified in the database{copied}, {} files in the \
         bucket ({} copied by this run, {})",
        m.files,
        m.files_copied,
        sealpost_proto::text::megabytes(m.bytes)
    );
    if m.files > 0 {
        say!(
            "hub.toml now names the new stores (the previous one is {}); hub.db and blobs/ \
             are left as they were: remove them once the hub runs well on the new stores",
            m.previous_config
        );
    } else {
        say!(
            "hub.toml now names the database (the previous one is {}); the files stay in \
             blobs/ (keep it); hub.db is left as it was: remove it once the hub runs well",
            m.previous_config
        );
    }
}

/// `admin restore`.
pub fn restored(r: &crate::backup::BackupReport) {
    say!(
        "restored the backup taken {} into {}: {}, {}, {} encrypted files; the master key opens it",
        r.taken_at,
        r.path,
        count(r.mailboxes, "mailbox", "mailboxes"),
        count(r.messages, "message", "messages"),
        r.files
    );
    if let Some(note) = &r.note {
        say!("{note}");
    }
}

/// `admin check [--repair]`.
pub fn check(r: &CheckReport) {
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
        r.lost_attachments.is_empty() || r.repaired,
        format!(
            "{} whose attachment file is gone{}",
            count(r.lost_attachments.len() as u64, "message", "messages"),
            if r.lost_attachments.is_empty() {
                String::new()
            } else {
                format!(
                    "{}: {}",
                    fixed(
                        ": attachments forgotten, the messages kept",
                        " (put the files back from a backup if you have them; `--repair` \
                         forgets those attachments and keeps the messages)"
                    ),
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

/// `status`: one row per recipient, and a line under for each to look into.
pub fn send_status(s: &crate::recall::SendStatus) {
    say!("{} sent {}", s.id, when(Some(s.sent_at)));
    let rows: Vec<Vec<String>> = s
        .recipients
        .iter()
        .map(|r| {
            vec![
                r.address.clone(),
                when(r.notified_at),
                when(r.registered_at),
                when(r.first_opened_at),
                when(r.replied_at),
                when(r.recalled_at),
                when(r.expired_at),
            ]
        })
        .collect();
    print_table(
        &[
            "RECIPIENT",
            "NOTIFIED",
            "REGISTERED",
            "FIRST OPENED",
            "REPLIED",
            "RECALLED",
            "EXPIRED",
        ],
        &rows,
    );
    for r in s.recipients.iter().filter(|r| r.not_registered) {
        say!(
            "{} has not registered {} days after the notice: check the address",
            r.address,
            crate::recall::REGISTER_WITHIN_DAYS
        );
    }
}

pub fn updates(r: &crate::updates::Publication) {
    let Some(dir) = &r.dir else {
        say!("this hub offers no app updates: hub.toml has no [updates] dir");
        return;
    };
    say!("updates folder: {}", dir.display());
    if let Some(version) = &r.version {
        say!("version: {version}");
    }
    for p in &r.packages {
        let size = p
            .bytes
            .map(sealpost_proto::text::megabytes)
            .unwrap_or_else(|| "not in the folder".to_owned());
        let signature = match p.signature_good {
            Some(true) => "signature good",
            Some(false) => "signature BAD",
            None => "signature not checked",
        };
        let signed = p
            .signed_version
            .as_deref()
            .map(|v| format!(", signed as {v}"))
            .unwrap_or_default();
        say!("  {}  {}  {size}  {signature}{signed}", p.platform, p.file);
    }
    if !r.unnamed.is_empty() {
        say!(
            "not served (latest.json does not name them): {}",
            r.unnamed.join(", ")
        );
    }
    for problem in &r.problems {
        say!("FIX {problem}");
    }
    if r.problems.is_empty() {
        match &r.version {
            Some(v) if r.signatures_checked => {
                say!("ok: apps older than {v} are offered it, and its signatures are good")
            }
            Some(v) => say!(
                "ok: apps older than {v} are offered it (signatures not checked: give \
                 --release-key)"
            ),
            None => {}
        }
    }
}
