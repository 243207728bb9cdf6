//! Full-text search of the vault (SQLite FTS5), with an excerpt around the first match.

use rusqlite::params;
use sealpost_proto::MessageSummary;
use serde::Serialize;

use super::messages::{attachments_of, message_from_row, with_pending_answers, COLUMNS};
use super::Vault;
use crate::error::Result;

/// A search result: the message and a short excerpt around the match.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    /// The message as listed.
    pub message: MessageSummary,
    /// Text around the first match, with the match in `[` `]`.
    pub excerpt: String,
}

/// Messages indexed per transaction by [`Vault::index_pending`]: a batch holds the vault
/// for about 30 ms on the benchmark machine (docs/benchmarks.md), so the window and sync
/// wait no longer than that. (2,000 per batch indexed a first sync's 10,000 messages about
/// a tenth faster, holding the vault four times as long.)
const INDEX_BATCH: usize = 500;

impl Vault {
    /// Adds the messages sync stored since the last call (`search_pending`) to the search
    /// index, [`INDEX_BATCH`] per transaction, until none waits. Returns how many.
    ///
    /// Sync calls it in the background after each sync; [`Vault::search`] calls it before
    /// it looks, so a search never misses a stored message.
    pub fn index_pending(&self) -> Result<usize> {
        let mut total = 0;
        loop {
            if self.is_closed() {
                return Ok(total);
            }
            let done = self.write(|tx| {
                let mut stmt = tx.prepare_cached(
                    "SELECT p.message_rowid, m.id, m.subject, m.body_text, m.sender FROM search_pending p \
                     LEFT JOIN messages m ON m.rowid = p.message_rowid LIMIT ?1",
                )?;
                let waiting = stmt
                    .query_map([INDEX_BATCH as i64], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, Option<String>>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, Option<String>>(3)?,
                            r.get::<_, Option<String>>(4)?,
                        ))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                for (rowid, id, subject, body, sender) in &waiting {
                    // A message gone since it was stored has nothing to index.
                    if let Some(id) = id {
                        let names: Vec<String> =
                            attachments_of(tx, id)?.into_iter().map(|a| a.name).collect();
                        tx.prepare_cached(
                            "INSERT INTO search (rowid, subject, body, sender, attachments) \
                             VALUES (?1, ?2, ?3, ?4, ?5)",
                        )?
                        .execute(params![rowid, subject, body, sender, names.join(" ")])?;
                    }
                    tx.prepare_cached("DELETE FROM search_pending WHERE message_rowid = ?1")?
                        .execute([rowid])?;
                }
                Ok(waiting.len())
            })?;
            total += done;
            if done < INDEX_BATCH {
                return Ok(total);
            }
        }
    }

    /// Messages matching `query` (full-text: subject, body, sender, attachment names),
    /// best matches first. Messages stored but not yet indexed are indexed first.
    pub fn search(&self, query: &str, limit: u32) -> Result<Vec<SearchHit>> {
        let fts = fts_query(query);
        if fts.is_empty() {
            return Ok(Vec::new());
        }
        self.index_pending()?;
        let words: Vec<String> = query
            .split_whitespace()
            .map(|w| w.replace('"', "").to_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {} FROM search JOIN messages m ON m.rowid = search.rowid \
                 WHERE search MATCH ?1 ORDER BY rank LIMIT ?2",
                COLUMNS
                    .split(", ")
                    .map(|col| format!("m.{col}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))?;
            let rows = stmt
                .query_map(params![fts, limit], message_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut hits = rows
                .into_iter()
                .map(|m| {
                    let excerpt = excerpt(&m.body_text, &words)
                        .or_else(|| excerpt(&m.summary.subject, &words))
                        .unwrap_or_else(|| m.body_text.chars().take(80).collect());
                    let mut s = m.summary;
                    s.attachments = attachments_of(c, &s.id)?;
                    Ok(SearchHit {
                        message: s,
                        excerpt,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            with_pending_answers(
                c,
                &mut hits.iter_mut().map(|h| &mut h.message).collect::<Vec<_>>(),
            )?;
            Ok(hits)
        })
    }
}

/// About 60 characters around the first word starting with one of `words` (lower-case),
/// with that word in `[` `]`; `None` when no word matches.
fn excerpt(text: &str, words: &[String]) -> Option<String> {
    let lower = text.to_lowercase();
    // Word starts only, as the search matched prefixes of words.
    let mut found: Option<(usize, usize)> = None;
    for w in words {
        let mut from = 0;
        while let Some(at) = lower[from..].find(w.as_str()).map(|i| i + from) {
            let starts_word = lower[..at]
                .chars()
                .last()
                .is_none_or(|c| !c.is_alphanumeric());
            if starts_word {
                if found.is_none_or(|(f, _)| at < f) {
                    found = Some((at, w.len()));
                }
                break;
            }
            from = at + w.len().max(1);
        }
    }
    let (at, len) = found?;
    // Lower-casing can change byte lengths; map back only when it did not.
    if lower.len() != text.len() {
        return Some(text.chars().take(80).collect());
    }
    let end_word = text[at..]
        .find(|c: char| !c.is_alphanumeric())
        .map_or(text.len(), |e| at + e)
        .max(at + len);
    let start = text[..at]
        .char_indices()
        .rev()
        .nth(30)
        .map_or(0, |(i, _)| i);
    let stop = text[end_word..]
        .char_indices()
        .nth(30)
        .map_or(text.len(), |(i, _)| end_word + i);
    Some(format!(
        "{}{}[{}]{}{}",
        if start > 0 { "…" } else { "" },
        &text[start..at],
        &text[at..end_word],
        &text[end_word..stop],
        if stop < text.len() { "…" } else { "" }
    ))
}

/// Turns what a person types into an FTS5 query: each word a prefix match, all required.
/// Quotes keep operators and punctuation from being read as query syntax.
fn fts_query(input: &str) -> String {
    input
        .split_whitespace()
        .map(|w| w.replace('"', ""))
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\"*"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_mark_the_first_matching_word() {
        let words = vec!["visit".to_owned()];
        assert_eq!(
            excerpt("Please confirm the visit date, thanks", &words).as_deref(),
            Some("Please confirm the [visit] date, thanks")
        );
        assert_eq!(excerpt("revisit later", &words), None, "word starts only");
        let long = format!("{} visiting {}", "a".repeat(100), "b".repeat(100));
        let e = excerpt(&long, &words).unwrap();
        assert!(
            e.starts_with('…') && e.ends_with('…') && e.contains("[visiting]"),
            "{e}"
        );
    }

    fn message(id: &str, subject: &str, body: &str) -> serde_json::Value {
        serde_json::json!({
            "kind": "message", "id": id, "folder": "inbox", "from": "staff@example.gov.uk",
            "to": ["alice@partner.example"], "cc": [], "subject": subject,
            "sent_at": "2026-12-01T10:00:00Z", "expires_at": "2099-03-01T10:00:00Z",
            "read": false, "replied": false, "forwarded": false, "body_text": body,
            "attachments": [{"id": format!("{id}-a"), "name": "scan-kestrel.pdf",
                "size": 3, "content_type": "application/pdf"}],
        })
    }

    fn page(
        state: &str,
        created: Vec<serde_json::Value>,
        gone: &[&str],
    ) -> sealpost_proto::Changes {
        serde_json::from_value(serde_json::json!({
            "state": state, "has_more": false, "created": created, "updated": [],
            "destroyed": gone.iter().map(|id| serde_json::json!({"kind": "message", "id": id}))
                .collect::<Vec<_>>(),
        }))
        .unwrap()
    }

    fn pending(vault: &Vault) -> i64 {
        vault
            .read(|c| Ok(c.query_row("SELECT count(*) FROM search_pending", [], |r| r.get(0))?))
            .unwrap()
    }

    fn found(vault: &Vault, query: &str) -> Vec<String> {
        let mut ids: Vec<String> = vault
            .search(query, 50)
            .unwrap()
            .into_iter()
            .map(|h| h.message.id)
            .collect();
        ids.sort();
        ids
    }

    /// Index entries follow the page's commit: what a crash leaves waiting is indexed
    /// when the vault is next searched, a changed message is found by its new words only,
    /// and a message gone before it was indexed leaves nothing behind.
    #[test]
    fn stored_messages_are_found_even_when_indexing_was_cut_short() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.db");
        let key = "ab".repeat(32);
        {
            let vault = Vault::open(&path, &key).unwrap();
            vault
                .apply_changes(&page(
                    "1",
                    vec![
                        message("m1", "Heron visit", "about the garden"),
                        message("m2", "Budget", "the heron returns"),
                        message("m3", "Minutes", "nothing"),
                    ],
                    &[],
                ))
                .unwrap();
            assert_eq!(
                pending(&vault),
                3,
                "the page committed; indexing has not run"
            );
            // The app stops here (a crash, a power cut): nothing indexed.
        }
        let vault = Vault::open(&path, &key).unwrap();
        assert_eq!(
            found(&vault, "heron"),
            ["m1", "m2"],
            "found after reopening"
        );
        assert_eq!(
            found(&vault, "kestrel"),
            ["m1", "m2", "m3"],
            "attachment names"
        );
        assert_eq!(pending(&vault), 0);

        vault
            .apply_changes(&page(
                "2",
                vec![message("m1", "Osprey visit", "about the pond")],
                &["m2"],
            ))
            .unwrap();
        assert_eq!(
            found(&vault, "heron"),
            Vec::<String>::new(),
            "old words and m2 are gone"
        );
        assert_eq!(found(&vault, "osprey"), ["m1"]);

        // Stored and deleted before the index caught up: nothing waits, nothing is found.
        vault
            .apply_changes(&page("3", vec![message("m4", "Wren", "x")], &[]))
            .unwrap();
        vault.apply_changes(&page("4", vec![], &["m4"])).unwrap();
        assert_eq!(pending(&vault), 0);
        assert_eq!(vault.index_pending().unwrap(), 0);
        assert_eq!(found(&vault, "wren"), Vec::<String>::new());
    }

    #[test]
    fn a_closed_vault_indexes_no_more_and_the_next_opening_catches_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.db");
        let key = "ab".repeat(32);
        let vault = Vault::open(&path, &key).unwrap();
        vault
            .apply_changes(&page("1", vec![message("m1", "Heron", "x")], &[]))
            .unwrap();
        let background = vault.clone();
        vault.close();
        assert_eq!(
            background.index_pending().unwrap(),
            0,
            "closed: no batch starts"
        );
        assert_eq!(pending(&vault), 1);
        drop((vault, background));
        let vault = Vault::open(&path, &key).unwrap();
        assert_eq!(found(&vault, "heron"), ["m1"]);
    }

    #[test]
    fn search_queries_cannot_inject_fts_syntax() {
        assert_eq!(fts_query("care plan"), "\"care\"* \"plan\"*");
        assert_eq!(fts_query("a\" OR b"), "\"a\"* \"OR\"* \"b\"*");
        assert_eq!(fts_query("   "), "");
    }
}
