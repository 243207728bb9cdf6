//! The vault's migrations: an append-only list. Never edit a step that has shipped.

/// Each entry is one migration; `user_version` counts how many have run.
pub const MIGRATIONS: &[&str] = &[
    // 1: messages with attachments (bytes cached in chunks), address book, sync state,
    //    outbox, full-text search.
    r#"
    CREATE TABLE messages (
        id TEXT PRIMARY KEY NOT NULL,
        folder TEXT NOT NULL CHECK (folder IN ('inbox', 'sent', 'drafts')),
        mode TEXT NOT NULL DEFAULT 'new',
        sender TEXT NOT NULL,
        recipients TEXT NOT NULL DEFAULT '{}',
        subject TEXT NOT NULL DEFAULT '',
        body_text TEXT NOT NULL DEFAULT '',
        body_html TEXT NOT NULL DEFAULT '',
        sent_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        read INTEGER NOT NULL DEFAULT 0,
        in_reply_to TEXT NOT NULL DEFAULT '',
        delivery TEXT NOT NULL DEFAULT ''
    ) STRICT;
    CREATE INDEX messages_listing ON messages(folder, sent_at, id);
    CREATE INDEX messages_expiry ON messages(expires_at);

    CREATE TABLE attachments (
        id TEXT PRIMARY KEY NOT NULL,
        message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        content_type TEXT NOT NULL,
        cached INTEGER NOT NULL DEFAULT 0
    ) STRICT;
    CREATE INDEX attachments_message ON attachments(message_id);

    -- Downloaded attachment bytes, in 256 KiB chunks, inside the encrypted vault.
    CREATE TABLE attachment_chunks (
        attachment_id TEXT NOT NULL REFERENCES attachments(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (attachment_id, seq)
    ) STRICT;

    CREATE TABLE contacts (
        id TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL,
        email TEXT NOT NULL
    ) STRICT;

    CREATE TABLE groups (
        id TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL,
        contact_ids TEXT NOT NULL DEFAULT '[]'
    ) STRICT;

    CREATE TABLE sync (
        key TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
    ) STRICT;

    -- What waits for the hub, in order: messages and drafts (`payload` is the Outgoing
    -- JSON, with its client_ref so a retry is never sent twice), read flags and deletions
    -- made offline (`payload` names the message).
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('send', 'draft', 'read', 'delete')),
        created_at INTEGER NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT ''
    ) STRICT;

    -- Files of queued messages, copied into the vault so they survive a restart and never
    -- sit in the clear on disk.
    CREATE TABLE outbox_files (
        outbox_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        PRIMARY KEY (outbox_id, position)
    ) STRICT;
    CREATE TABLE outbox_chunks (
        outbox_id INTEGER NOT NULL REFERENCES outbox(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (outbox_id, position, seq)
    ) STRICT;

    -- Full-text search over what a person looks for; rowid = messages.rowid. Contentless:
    -- the text lives once, in messages; deleting needs no re-reading of it (fast purge).
    CREATE VIRTUAL TABLE search USING fts5(subject, body, sender, attachments, content = '',
        contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2');
    "#,
    // 2: messages being written, kept as they are written so that a lock, a sign-out, a
    //    crash or a restart loses nothing; each outbox item names the compose it came from,
    //    so that saving or sending a compose again replaces what of it still waits; drafts
    //    name their compose too.
    r#"
    CREATE TABLE composes (
        id TEXT PRIMARY KEY NOT NULL,
        -- The Compose JSON: recipients, text, the files chosen, the attachments carried.
        body TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    ) STRICT;
    ALTER TABLE outbox ADD COLUMN compose_id TEXT NOT NULL DEFAULT '';
    -- The client_ref a draft or Sent item was saved with: which compose it belongs to.
    ALTER TABLE messages ADD COLUMN client_ref TEXT NOT NULL DEFAULT '';
    CREATE INDEX outbox_compose ON outbox(compose_id) WHERE compose_id != '';
    "#,
    // 3: a compose that was sent is remembered, so that nothing (a late autosave, a lock)
    //    brings it back to be changed and "sent" again; each outbox item keeps its compose,
    //    so that one the hub refuses later, in any flush, returns to the composes.
    r#"
    CREATE TABLE sent_composes (
        id TEXT PRIMARY KEY NOT NULL,
        sent_at INTEGER NOT NULL
    ) STRICT;
    ALTER TABLE outbox ADD COLUMN compose_body TEXT NOT NULL DEFAULT '';
    "#,
    // 4: a message in the Deleted folder keeps its own folder (where Undo puts it back)
    //    and is marked `deleted`.
    r#"
    ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
    "#,
    // 5: whether a message was answered or forwarded from this mailbox (the hub's flags,
    //    set here at once when the answer is queued).
    r#"
    ALTER TABLE messages ADD COLUMN replied INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN forwarded INTEGER NOT NULL DEFAULT 0;
    "#,
    // 6: messages stored by sync wait in `search_pending` to be added to the search index
    //    just after the page commits, so a first sync's messages are listable before
    //    thousands of bodies are indexed; search adds whatever still waits before it looks
    //    (vault/search.rs). The index also buffers up to 8 MiB of new entries before it
    //    writes a segment (FTS5 `hashsize`, default 1 MiB). (`automerge` 16 indexed a
    //    first sync a little faster but left so many segments that the next small write
    //    merged them all at once, holding the vault for half a second.)
    r#"
    CREATE TABLE search_pending (
        message_rowid INTEGER PRIMARY KEY NOT NULL
    ) STRICT;
    INSERT INTO search (search, rank) VALUES ('hashsize', 8388608);
    "#,
    // 7: a message its sender recalled keeps a line in the list ("Withdrawn by the sender
    //    on …"): its row stays with its content emptied and the time of the recall here
    //    (milliseconds; 0 for every other message).
    r#"
    ALTER TABLE messages ADD COLUMN recalled_at INTEGER NOT NULL DEFAULT 0;
    "#,
];
