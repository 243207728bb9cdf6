//! The `sealpost-hub` command line: its commands and arguments ([`args`]), how admin
//! reports are said to people ([`render`]), and the helpers both use: aligned tables,
//! counted nouns, durations like `24h`. The binary (`main.rs`) dispatches.

pub mod args;
pub mod render;

use chrono::{DateTime, Duration, Utc};

/// Prints rows under headers, columns padded to the widest cell.
pub fn print_table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let text: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        sealpost_proto::say!("{}", text.join("  ").trim_end());
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// A count with its noun: `1 file`, `3 files`.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    match n.into() {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// A time for a table cell, or `-`.
pub fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".into())
}

/// Parses `90s`, `30m`, `24h`, `7d`, `2w`.
pub fn parse_span(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a time span; write it like 30m, 24h or 7d"))?;
    Ok(match unit {
        "s" => Duration::seconds(n),
        "m" => Duration::minutes(n),
        "h" | "" => Duration::hours(n),
        "d" => Duration::days(n),
        "w" => Duration::weeks(n),
        _ => {
            return Err(format!(
                "{s:?} is not a time span; write it like 30m, 24h or 7d"
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_parse() {
        assert_eq!(parse_span("24h").unwrap(), Duration::hours(24));
        assert_eq!(parse_span("7d").unwrap(), Duration::days(7));
        assert_eq!(parse_span("30m").unwrap(), Duration::minutes(30));
        assert!(parse_span("soon").is_err());
    }
}
