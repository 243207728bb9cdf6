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

impl Vault {
    /// Messages matching `query` (full-text: subject, body, sender, attachment names),
    /// best matches first.
    pub fn search(&self, query: &str, limit: u32) -> Result<Vec<SearchHit>> {
        let fts = fts_query(query);
        if fts.is_empty() {
            return Ok(Vec::new());
        }
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

    #[test]
    fn search_queries_cannot_inject_fts_syntax() {
        assert_eq!(fts_query("care plan"), "\"care\"* \"plan\"*");
        assert_eq!(fts_query("a\" OR b"), "\"a\"* \"OR\"* \"b\"*");
        assert_eq!(fts_query("   "), "");
    }
}
