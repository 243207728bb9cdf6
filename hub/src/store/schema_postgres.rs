//! PostgreSQL migrations: an append-only list, as for SQLite (`schema.rs`). Never edit a
//! step that has shipped; add one. `schema_version` counts how many have run.
//!
//! The tables mirror SQLite's after its step 6, column for column, so that one set of
//! statements serves both: integers are BIGINT (times in milliseconds since the Unix
//! epoch, flags 0 or 1), bytes are BYTEA. A PostgreSQL hub starts at storage format 2
//! (every content field sealed with its mailbox's data key); it never holds format-1 rows.

/// Each entry is one migration.
pub const MIGRATIONS: &[&str] = &[
    // 1: the schema of SQLite's steps 1 to 6 (see schema.rs for what each table is for).
    r#"
    CREATE TABLE accounts (
        id TEXT PRIMARY KEY NOT NULL,
        email TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'disabled')),
        password_hash TEXT NOT NULL DEFAULT '',
        mailbox_public TEXT NOT NULL,
        mailbox_key BYTEA NOT NULL,
        created_at BIGINT NOT NULL,
        registered_at BIGINT NOT NULL DEFAULT 0,
        last_sign_in_at BIGINT NOT NULL DEFAULT 0,
        -- Bumped, under the row's lock, by every change to the mailbox: writers to one
        -- mailbox take their states in commit order, so no sync reader skips a change.
        mailbox_state BIGINT NOT NULL DEFAULT 0,
        history_floor BIGINT NOT NULL DEFAULT 0,
        owner_window_until BIGINT NOT NULL DEFAULT 0,
        password_form TEXT NOT NULL DEFAULT 'raw' CHECK (password_form IN ('raw', 'nfkc')),
        data_key BYTEA NOT NULL DEFAULT '\x'
    );

    CREATE TABLE sign_in_guard (
        email TEXT PRIMARY KEY NOT NULL,
        failures BIGINT NOT NULL DEFAULT 0,
        locked_until BIGINT NOT NULL DEFAULT 0,
        updated_at BIGINT NOT NULL
    );

    CREATE TABLE one_time_links (
        token_hash TEXT PRIMARY KEY NOT NULL,
        purpose TEXT NOT NULL CHECK (purpose IN ('register', 'reset')),
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    CREATE INDEX one_time_links_account ON one_time_links(account_id, purpose);

    CREATE TABLE session_families (
        id TEXT PRIMARY KEY NOT NULL,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        device_name TEXT NOT NULL DEFAULT '',
        remember BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX session_families_account ON session_families(account_id);

    CREATE TABLE access_tokens (
        token_hash TEXT PRIMARY KEY NOT NULL,
        family_id TEXT NOT NULL REFERENCES session_families(id) ON DELETE CASCADE,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT NOT NULL,
        max_expires_at BIGINT NOT NULL,
        revoked_at BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX access_tokens_family ON access_tokens(family_id);
    CREATE INDEX access_tokens_account ON access_tokens(account_id);

    CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY NOT NULL,
        family_id TEXT NOT NULL REFERENCES session_families(id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        used_at BIGINT NOT NULL DEFAULT 0,
        replaced_by TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

    CREATE TABLE trusted_devices (
        token_hash TEXT PRIMARY KEY NOT NULL,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT NOT NULL,
        failures BIGINT NOT NULL DEFAULT 0,
        locked_until BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX trusted_devices_account ON trusted_devices(account_id);

    CREATE TABLE org_tokens (
        id TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        last_used_at BIGINT NOT NULL DEFAULT 0,
        revoked_at BIGINT NOT NULL DEFAULT 0
    );

    CREATE TABLE messages (
        id TEXT PRIMARY KEY NOT NULL,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        origin_id TEXT NOT NULL,
        folder TEXT NOT NULL CHECK (folder IN ('inbox', 'sent', 'drafts')),
        mode TEXT NOT NULL DEFAULT 'new' CHECK (mode IN ('new', 'reply', 'reply_all', 'forward')),
        sender TEXT NOT NULL,
        recipients TEXT NOT NULL DEFAULT '{}',
        sent_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        read BIGINT NOT NULL DEFAULT 0,
        in_reply_to TEXT NOT NULL DEFAULT '',
        delivery TEXT NOT NULL DEFAULT '' CHECK (delivery IN ('', 'queued', 'delivered', 'failed')),
        delivery_detail TEXT NOT NULL DEFAULT '',
        client_ref TEXT NOT NULL DEFAULT '',
        -- Storage format 1's age file: always empty here.
        sealed BYTEA NOT NULL DEFAULT '\x',
        created_modseq BIGINT NOT NULL DEFAULT 0,
        modseq BIGINT NOT NULL DEFAULT 0,
        deleted_at BIGINT NOT NULL DEFAULT 0,
        replied BIGINT NOT NULL DEFAULT 0,
        forwarded BIGINT NOT NULL DEFAULT 0,
        sealed_subject BYTEA NOT NULL DEFAULT '\x',
        sealed_body_text BYTEA NOT NULL DEFAULT '\x',
        sealed_body_html BYTEA NOT NULL DEFAULT '\x',
        sealed_recipients BYTEA NOT NULL DEFAULT '\x',
        sealed_attachments BYTEA NOT NULL DEFAULT '\x'
    );
    CREATE INDEX messages_listing ON messages(account_id, folder, sent_at, id);
    CREATE INDEX messages_changes ON messages(account_id, modseq);
    CREATE INDEX messages_expiry ON messages(expires_at);
    CREATE INDEX messages_origin ON messages(origin_id);
    CREATE INDEX messages_client_ref ON messages(account_id, client_ref) WHERE client_ref != '';
    CREATE INDEX messages_deleted ON messages(account_id, sent_at) WHERE deleted_at > 0;

    CREATE TABLE attachments (
        id TEXT PRIMARY KEY NOT NULL,
        message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        position BIGINT NOT NULL,
        size BIGINT NOT NULL,
        blob TEXT NOT NULL
    );
    CREATE INDEX attachments_message ON attachments(message_id);
    CREATE INDEX attachments_blob ON attachments(blob);

    CREATE TABLE uploads (
        id TEXT PRIMARY KEY NOT NULL,
        account_id TEXT NOT NULL DEFAULT '',
        size BIGINT NOT NULL,
        blob TEXT NOT NULL,
        stored_bytes BIGINT NOT NULL,
        sealed BYTEA NOT NULL,
        created_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL
    );
    CREATE INDEX uploads_expiry ON uploads(expires_at);

    CREATE TABLE contacts (
        id TEXT PRIMARY KEY NOT NULL,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        sealed BYTEA NOT NULL,
        created_modseq BIGINT NOT NULL,
        modseq BIGINT NOT NULL
    );
    CREATE INDEX contacts_changes ON contacts(account_id, modseq);

    CREATE TABLE groups (
        id TEXT PRIMARY KEY NOT NULL,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        sealed BYTEA NOT NULL,
        created_modseq BIGINT NOT NULL,
        modseq BIGINT NOT NULL
    );
    CREATE INDEX groups_changes ON groups(account_id, modseq);

    CREATE TABLE tombstones (
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('message', 'contact', 'group')),
        modseq BIGINT NOT NULL,
        at BIGINT NOT NULL,
        PRIMARY KEY (account_id, id)
    );
    CREATE INDEX tombstones_changes ON tombstones(account_id, modseq);
    CREATE INDEX tombstones_at ON tombstones(at);

    CREATE TABLE audit (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at BIGINT NOT NULL,
        event TEXT NOT NULL,
        email TEXT NOT NULL DEFAULT '',
        ip TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX audit_at ON audit(at);

    CREATE TABLE mail_queue (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        created_at BIGINT NOT NULL,
        recipient TEXT NOT NULL,
        kind TEXT NOT NULL,
        sealed BYTEA NOT NULL,
        message_id TEXT NOT NULL DEFAULT '',
        blob TEXT NOT NULL DEFAULT '',
        attempts BIGINT NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        claimed_until BIGINT NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        sent_at BIGINT NOT NULL DEFAULT 0,
        abandoned_at BIGINT NOT NULL DEFAULT 0,
        priority BIGINT NOT NULL DEFAULT 1
    );
    CREATE INDEX mail_queue_due ON mail_queue(sent_at, next_attempt_at);
    CREATE INDEX mail_queue_claim ON mail_queue(priority, id) WHERE sent_at = 0 AND abandoned_at = 0;

    CREATE TABLE org_sends (
        client_ref TEXT PRIMARY KEY NOT NULL,
        fingerprint TEXT NOT NULL,
        origin_id TEXT NOT NULL,
        delivered_to TEXT NOT NULL,
        created_at BIGINT NOT NULL
    );
    CREATE INDEX org_sends_age ON org_sends(created_at);

    CREATE TABLE notifications (
        account_id TEXT PRIMARY KEY NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        waiting BIGINT NOT NULL DEFAULT 0,
        due_at BIGINT NOT NULL DEFAULT 0,
        last_sent_at BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX notifications_due ON notifications(due_at) WHERE waiting > 0;

    CREATE TABLE hub_keys (
        name TEXT PRIMARY KEY NOT NULL,
        public TEXT NOT NULL DEFAULT '',
        wrapped BYTEA NOT NULL DEFAULT '\x'
    );
    CREATE TABLE hub_state (
        name TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
    );
    INSERT INTO hub_state (name, value) VALUES ('storage_format', '2');
    "#,
    // 2: request rate limits shared by every hub process (SQLite's step 7).
    r#"
    CREATE TABLE throttles (
        name TEXT NOT NULL,
        key TEXT NOT NULL,
        window_start BIGINT NOT NULL,
        hits BIGINT NOT NULL,
        PRIMARY KEY (name, key)
    );
    CREATE INDEX throttles_age ON throttles(window_start);
    "#,
    // 3: staff sends recalled by their sender (SQLite's step 8).
    r#"
    CREATE TABLE recalls (
        origin_id TEXT PRIMARY KEY NOT NULL,
        recalled_at BIGINT NOT NULL,
        copies BIGINT NOT NULL
    );
    "#,
    // 4: what became of each recipient's copy of a staff send (SQLite's step 9).
    r#"
    CREATE TABLE send_recipients (
        origin_id TEXT NOT NULL,
        -- No reference: the row outlives a pending mailbox swept once empty.
        account_id TEXT NOT NULL,
        address TEXT NOT NULL,
        message_id TEXT NOT NULL,
        sent_at BIGINT NOT NULL,
        expires_at BIGINT NOT NULL,
        notified_at BIGINT NOT NULL DEFAULT 0,
        opened_at BIGINT NOT NULL DEFAULT 0,
        replied_at BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (origin_id, account_id)
    );
    CREATE INDEX send_recipients_message ON send_recipients(message_id);
    CREATE INDEX send_recipients_waiting ON send_recipients(account_id) WHERE notified_at = 0;
    CREATE INDEX send_recipients_age ON send_recipients(expires_at);
    "#,
    // 5: why something left a mailbox (SQLite's step 10).
    r#"
    ALTER TABLE tombstones ADD COLUMN reason TEXT NOT NULL DEFAULT '';
    "#,
    // 6: two-step sign-in (SQLite's step 11).
    r#"
    CREATE TABLE mfa (
        account_id TEXT PRIMARY KEY NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        sealed_secret BYTEA NOT NULL,
        enabled_at BIGINT NOT NULL DEFAULT 0,
        last_step BIGINT NOT NULL DEFAULT 0,
        created_at BIGINT NOT NULL
    );
    CREATE TABLE mfa_recovery (
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        code_digest TEXT NOT NULL,
        used_at BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (account_id, code_digest)
    );
    "#,
    // 7: named delegates of a shared mailbox (SQLite's step 12).
    r#"
    CREATE TABLE delegates (
        mailbox_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        person_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        sealed_name BYTEA NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('member', 'manager')),
        added_by TEXT NOT NULL DEFAULT '',
        added_at BIGINT NOT NULL,
        -- When they first opened a session on it (0: the invitation is still open).
        joined_at BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (mailbox_id, person_id)
    );
    CREATE INDEX delegates_person ON delegates(person_id);
    ALTER TABLE session_families ADD COLUMN person_id TEXT NOT NULL DEFAULT '';
    ALTER TABLE session_families ADD COLUMN revoked_reason TEXT NOT NULL DEFAULT '';
    CREATE INDEX session_families_person ON session_families(person_id) WHERE person_id <> '';
    ALTER TABLE accounts ADD COLUMN shared_only BIGINT NOT NULL DEFAULT 0;
    ALTER TABLE audit ADD COLUMN person TEXT NOT NULL DEFAULT '';
    ALTER TABLE audit ADD COLUMN device TEXT NOT NULL DEFAULT '';
    "#,
];
