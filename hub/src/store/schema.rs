//! Migrations: an append-only list. Never edit a step that has shipped; add one.
//!
//! Times are INTEGER milliseconds since the Unix epoch (UTC); 0 means "never".
//! Nothing here holds content in the clear: subjects, bodies, recipients and attachment
//! names live in `sealed_*` columns sealed with the mailbox's data key (storage v2; v1 rows
//! hold one age file in `sealed` until the upgrade), attachment bytes in encrypted files.

/// Each entry is one migration; `user_version` counts how many have run.
pub const MIGRATIONS: &[&str] = &[
    // 1: accounts, sign-in guard, one-time links, sessions, org tokens, messages, audit, mail queue.
    r#"
    CREATE TABLE accounts (
        id TEXT PRIMARY KEY NOT NULL,
        email TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'disabled')),
        password_hash TEXT NOT NULL DEFAULT '',
        mailbox_public TEXT NOT NULL,
        mailbox_key BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        registered_at INTEGER NOT NULL DEFAULT 0,
        last_sign_in_at INTEGER NOT NULL DEFAULT 0,
        -- Advances on every change to the mailbox; sync states are its values.
        mailbox_state INTEGER NOT NULL DEFAULT 0,
        -- Changes at or below this state were pruned: older sync states must start over.
        history_floor INTEGER NOT NULL DEFAULT 0
    ) STRICT;

    -- Failed sign-ins and locks are kept per address, known or not, so that the answers
    -- for unknown addresses are the same as for real ones.
    CREATE TABLE sign_in_guard (
        email TEXT PRIMARY KEY NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        locked_until INTEGER NOT NULL DEFAULT 0,
        updated_at INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE one_time_links (
        token_hash TEXT PRIMARY KEY NOT NULL,
        purpose TEXT NOT NULL CHECK (purpose IN ('register', 'reset')),
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX one_time_links_account ON one_time_links(account_id, purpose);

    -- A family is one Remember-me chain (one device); its refresh tokens rotate.
    CREATE TABLE session_families (
        id TEXT PRIMARY KEY NOT NULL,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        device_name TEXT NOT NULL DEFAULT '',
        remember INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER NOT NULL DEFAULT 0
    ) STRICT;

    CREATE TABLE access_tokens (
        token_hash TEXT PRIMARY KEY NOT NULL,
        family_id TEXT NOT NULL REFERENCES session_families(id) ON DELETE CASCADE,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER NOT NULL,
        max_expires_at INTEGER NOT NULL,
        revoked_at INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX access_tokens_family ON access_tokens(family_id);

    CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY NOT NULL,
        family_id TEXT NOT NULL REFERENCES session_families(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

    CREATE TABLE org_tokens (
        id TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER NOT NULL DEFAULT 0,
        revoked_at INTEGER NOT NULL DEFAULT 0
    ) STRICT;

    -- One row per copy: each recipient's mailbox holds its own copy, sealed to its own key.
    -- modseq is the mailbox state at the copy's last change; created_modseq at its creation.
    CREATE TABLE messages (
        id TEXT PRIMARY KEY NOT NULL,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        -- The send this copy came from: every recipient's copy of one send shares it.
        origin_id TEXT NOT NULL,
        folder TEXT NOT NULL CHECK (folder IN ('inbox', 'sent', 'drafts')),
        mode TEXT NOT NULL DEFAULT 'new' CHECK (mode IN ('new', 'reply', 'reply_all', 'forward')),
        sender TEXT NOT NULL,
        recipients TEXT NOT NULL DEFAULT '{}',
        sent_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        read INTEGER NOT NULL DEFAULT 0,
        in_reply_to TEXT NOT NULL DEFAULT '',
        delivery TEXT NOT NULL DEFAULT '' CHECK (delivery IN ('', 'queued', 'delivered', 'failed')),
        delivery_detail TEXT NOT NULL DEFAULT '',
        -- The client's reference for a sent message, so a retried send is not sent twice.
        client_ref TEXT NOT NULL DEFAULT '',
        sealed BLOB NOT NULL,
        created_modseq INTEGER NOT NULL DEFAULT 0,
        modseq INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX messages_listing ON messages(account_id, folder, sent_at, id);
    CREATE INDEX messages_changes ON messages(account_id, modseq);
    CREATE INDEX messages_expiry ON messages(expires_at);
    CREATE INDEX messages_client_ref ON messages(account_id, client_ref) WHERE client_ref != '';

    CREATE TABLE attachments (
        id TEXT PRIMARY KEY NOT NULL,
        message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        size INTEGER NOT NULL,
        blob TEXT NOT NULL
    ) STRICT;
    CREATE INDEX attachments_message ON attachments(message_id);

    -- Files uploaded for a message not sent yet. account_id is empty for organisation
    -- uploads (sealed to the master key); name and type are sealed with the bytes' key.
    CREATE TABLE uploads (
        id TEXT PRIMARY KEY NOT NULL,
        account_id TEXT NOT NULL DEFAULT '',
        size INTEGER NOT NULL,
        blob TEXT NOT NULL,
        -- Length of the encrypted file when written; checked when it is attached.
        stored_bytes INTEGER NOT NULL,
        sealed BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX uploads_expiry ON uploads(expires_at);

    CREATE TABLE contacts (
        id TEXT PRIMARY KEY NOT NULL,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        sealed BLOB NOT NULL,
        created_modseq INTEGER NOT NULL,
        modseq INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX contacts_changes ON contacts(account_id, modseq);

    CREATE TABLE groups (
        id TEXT PRIMARY KEY NOT NULL,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        sealed BLOB NOT NULL,
        created_modseq INTEGER NOT NULL,
        modseq INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX groups_changes ON groups(account_id, modseq);

    -- What was deleted or expired, so that sync can report it as destroyed. Pruned after a
    -- while; accounts.history_floor then says which states are too old to answer.
    CREATE TABLE tombstones (
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('message', 'contact', 'group')),
        modseq INTEGER NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (account_id, id)
    ) STRICT;
    CREATE INDEX tombstones_changes ON tombstones(account_id, modseq);

    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        event TEXT NOT NULL,
        email TEXT NOT NULL DEFAULT '',
        ip TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT ''
    ) STRICT;
    CREATE INDEX audit_at ON audit(at);

    -- Outgoing email waits here until delivered. The whole RFC 5322 text is sealed to the
    -- master key: it may carry a registration or reset link.
    CREATE TABLE mail_queue (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at INTEGER NOT NULL,
        recipient TEXT NOT NULL,
        kind TEXT NOT NULL,
        sealed BLOB NOT NULL,
        -- For staff deliveries: the Sent copy whose status to update, and the sealed email
        -- in a file (it carries the attachments).
        message_id TEXT NOT NULL DEFAULT '',
        blob TEXT NOT NULL DEFAULT '',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        claimed_until INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        sent_at INTEGER NOT NULL DEFAULT 0,
        abandoned_at INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX mail_queue_due ON mail_queue(sent_at, next_attempt_at);
    "#,
    // 2: sign-in that cannot be turned against the owner. Devices that signed in before are
    //    trusted: each keeps its own failure count and lock (OWASP's device cookies), so
    //    failures from elsewhere never lock them out. After a reset or an admin's unlock,
    //    the owner's window counts failures per address and client IP. Refresh tokens name
    //    the token that replaced them, so that a retry whose answer was lost is told apart
    //    from a stolen copy. Password hashes record whether they were made from the
    //    NFKC-normalised password (NIST SP 800-63B) or, before, from the text as typed.
    r#"
    CREATE TABLE trusted_devices (
        token_hash TEXT PRIMARY KEY NOT NULL,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        locked_until INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX trusted_devices_account ON trusted_devices(account_id);
    ALTER TABLE refresh_tokens ADD COLUMN replaced_by TEXT NOT NULL DEFAULT '';
    ALTER TABLE accounts ADD COLUMN owner_window_until INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE accounts ADD COLUMN password_form TEXT NOT NULL DEFAULT 'raw'
        CHECK (password_form IN ('raw', 'nfkc'));
    "#,
    // 3: a staff system's retried send is recognised by its reference and answered with
    //    the first receipt (`client_ref` is "source:reference", the source being the org
    //    token or the CLI); `fingerprint` tells a retry from another message reusing it.
    //    Mail is prioritised, and notifications are collapsed per mailbox.
    r#"
    CREATE TABLE org_sends (
        client_ref TEXT PRIMARY KEY NOT NULL,
        fingerprint TEXT NOT NULL,
        origin_id TEXT NOT NULL,
        delivered_to TEXT NOT NULL,
        created_at INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX org_sends_age ON org_sends(created_at);

    -- Security emails (lock notices, resets) go ahead of the rest, notifications last.
    ALTER TABLE mail_queue ADD COLUMN priority INTEGER NOT NULL DEFAULT 1;
    CREATE INDEX mail_queue_claim ON mail_queue(priority, id) WHERE sent_at = 0 AND abandoned_at = 0;

    -- Notifications are collapsed per mailbox: messages arriving count in `waiting`, and one
    -- email says how many, at most one per interval (`due_at`: when it may go, 0 if none
    -- waits; a claim pushes it on by a lease while the email is made).
    CREATE TABLE notifications (
        account_id TEXT PRIMARY KEY NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        waiting INTEGER NOT NULL DEFAULT 0,
        due_at INTEGER NOT NULL DEFAULT 0,
        last_sent_at INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX notifications_due ON notifications(due_at) WHERE waiting > 0;
    "#,
    // 4: Delete moves an inbox or Sent message to the Deleted folder (`deleted_at`, 0 when
    //    not deleted), keeping its own folder for Undo; DELETE removes it for good.
    r#"
    ALTER TABLE messages ADD COLUMN deleted_at INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX messages_deleted ON messages(account_id, sent_at) WHERE deleted_at > 0;
    "#,
    // 5: a message remembers that it was answered and forwarded from its mailbox (set when
    //    the reply or forward is sent; other devices hear of it as an update).
    r#"
    ALTER TABLE messages ADD COLUMN replied INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN forwarded INTEGER NOT NULL DEFAULT 0;
    "#,
    // 6: storage v2 (envelope encryption). Each mailbox's data key, wrapped by the master
    //    key (x'' until the hub makes one at its next start). A message's content fields,
    //    each sealed with it (`crypto/envelope.rs`). A v1 row keeps `sealed` (one age file)
    //    and its recipients in the clear until the upgrade rewrites it and empties both.
    //    `hub_keys` holds hub-wide keys wrapped by the master key, and the master key's
    //    public half (`name = 'master'`), which tells which master key wraps the rest.
    //    `hub_state` holds facts about the store itself: `storage_format` is 2 once no
    //    row of format 1 is left (from then on a value of format 1 is refused).
    r#"
    ALTER TABLE accounts ADD COLUMN data_key BLOB NOT NULL DEFAULT x'';
    ALTER TABLE messages ADD COLUMN sealed_subject BLOB NOT NULL DEFAULT x'';
    ALTER TABLE messages ADD COLUMN sealed_body_text BLOB NOT NULL DEFAULT x'';
    ALTER TABLE messages ADD COLUMN sealed_body_html BLOB NOT NULL DEFAULT x'';
    ALTER TABLE messages ADD COLUMN sealed_recipients BLOB NOT NULL DEFAULT x'';
    ALTER TABLE messages ADD COLUMN sealed_attachments BLOB NOT NULL DEFAULT x'';
    CREATE TABLE hub_keys (
        name TEXT PRIMARY KEY NOT NULL,
        public TEXT NOT NULL DEFAULT '',
        wrapped BLOB NOT NULL DEFAULT x''
    ) STRICT;
    CREATE TABLE hub_state (
        name TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
    ) STRICT;
    "#,
    // 7: request rate limits counted in the database, for hub processes sharing one (a
    //    SQLite hub counts in memory and leaves this empty; the table keeps both schemas
    //    alike). One fixed window per limit and key (a client network, an address).
    r#"
    CREATE TABLE throttles (
        name TEXT NOT NULL,
        key TEXT NOT NULL,
        window_start INTEGER NOT NULL,
        hits INTEGER NOT NULL,
        PRIMARY KEY (name, key)
    ) STRICT;
    CREATE INDEX throttles_age ON throttles(window_start);
    "#,
    // 8: staff sends recalled by their sender: every recipient's copy was deleted (sync
    //    reports each as destroyed); the recall is kept so that asking again answers alike.
    r#"
    CREATE TABLE recalls (
        origin_id TEXT PRIMARY KEY NOT NULL,
        recalled_at INTEGER NOT NULL,
        copies INTEGER NOT NULL
    ) STRICT;
    -- A send's copies are found by its id (PostgreSQL's schema has had this from its start).
    CREATE INDEX messages_origin ON messages(origin_id);
    "#,
    // 9: what became of each recipient's copy of a staff send, for its sender: when the
    //    mailbox's notice was queued, when the copy was first opened and first replied to.
    //    Kept after the copy and a pending mailbox go (recalled, expired), for 30 days past
    //    the copy's expiry.
    r#"
    CREATE TABLE send_recipients (
        origin_id TEXT NOT NULL,
        -- No reference: the row outlives a pending mailbox swept once empty.
        account_id TEXT NOT NULL,
        address TEXT NOT NULL,
        message_id TEXT NOT NULL,
        sent_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        notified_at INTEGER NOT NULL DEFAULT 0,
        opened_at INTEGER NOT NULL DEFAULT 0,
        replied_at INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (origin_id, account_id)
    ) STRICT;
    CREATE INDEX send_recipients_message ON send_recipients(message_id);
    CREATE INDEX send_recipients_waiting ON send_recipients(account_id) WHERE notified_at = 0;
    CREATE INDEX send_recipients_age ON send_recipients(expires_at);
    "#,
    // 10: why something left a mailbox, for sync to tell: 'recalled' when its sender took
    //     it back (the recipient's app shows a line in its place), '' otherwise.
    r#"
    ALTER TABLE tombstones ADD COLUMN reason TEXT NOT NULL DEFAULT '';
    "#,
    // 11: two-step sign-in (RFC 6238 TOTP). The secret is sealed to the hub's key;
    //     `enabled_at` is 0 until a first code confirms it; `last_step` is the last 30 s
    //     step whose code was taken, so that a code works once. Recovery codes are kept by
    //     their SHA-256 digests.
    r#"
    CREATE TABLE mfa (
        account_id TEXT PRIMARY KEY NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        sealed_secret BLOB NOT NULL,
        enabled_at INTEGER NOT NULL DEFAULT 0,
        last_step INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
    ) STRICT;
    CREATE TABLE mfa_recovery (
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        code_digest TEXT NOT NULL,
        used_at INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (account_id, code_digest)
    ) STRICT;
    "#,
    // 12: named delegates of a shared mailbox. A delegate is a person with an account of
    //     their own (their own address and password) who may also work `mailbox_id`; their
    //     name is sealed with the mailbox's data key. `role` 'manager' may add and remove
    //     delegates as the mailbox's owner does. A session family opened by a delegate names
    //     them in `person_id` ('' for the mailbox's own sign-in); `revoked_reason` says why
    //     it ended when the client must act on it ('removed': the person lost access).
    //     `shared_only` mailboxes have no password of their own. Audit lines name the
    //     person and the device.
    r#"
    CREATE TABLE delegates (
        mailbox_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        person_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        sealed_name BLOB NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('member', 'manager')),
        added_by TEXT NOT NULL DEFAULT '',
        added_at INTEGER NOT NULL,
        -- When they first opened a session on it (0: the invitation is still open).
        joined_at INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (mailbox_id, person_id)
    ) STRICT;
    CREATE INDEX delegates_person ON delegates(person_id);
    ALTER TABLE session_families ADD COLUMN person_id TEXT NOT NULL DEFAULT '';
    ALTER TABLE session_families ADD COLUMN revoked_reason TEXT NOT NULL DEFAULT '';
    CREATE INDEX session_families_person ON session_families(person_id) WHERE person_id != '';
    ALTER TABLE accounts ADD COLUMN shared_only INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE audit ADD COLUMN person TEXT NOT NULL DEFAULT '';
    ALTER TABLE audit ADD COLUMN device TEXT NOT NULL DEFAULT '';
    "#,
];
