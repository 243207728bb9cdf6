//! Migrations: an append-only list. Never edit a step that has shipped; add one.
//!
//! Times are INTEGER milliseconds since the Unix epoch (UTC); 0 means "never".
//! Nothing here holds content in the clear: subjects, bodies and attachment names live in
//! `sealed` columns as age ciphertext, attachment bytes in encrypted files.

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
        mailbox_state INTEGER NOT NULL DEFAULT 0
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
    CREATE TABLE messages (
        id TEXT PRIMARY KEY NOT NULL,
        account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        -- The send this copy came from: every recipient's copy of one send shares it.
        origin_id TEXT NOT NULL,
        folder TEXT NOT NULL CHECK (folder IN ('inbox', 'sent', 'drafts')),
        sender TEXT NOT NULL,
        recipients TEXT NOT NULL DEFAULT '{}',
        sent_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        read INTEGER NOT NULL DEFAULT 0,
        sealed BLOB NOT NULL,
        modseq INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX messages_listing ON messages(account_id, folder, sent_at);
    CREATE INDEX messages_expiry ON messages(expires_at);

    CREATE TABLE attachments (
        id TEXT PRIMARY KEY NOT NULL,
        message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        size INTEGER NOT NULL,
        blob TEXT NOT NULL
    ) STRICT;
    CREATE INDEX attachments_message ON attachments(message_id);

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
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        claimed_until INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        sent_at INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX mail_queue_due ON mail_queue(sent_at, next_attempt_at);
    "#,
];
