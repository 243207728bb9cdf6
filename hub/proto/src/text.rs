//! Text that people read as a name or a heading (file names, subjects, contact names) must
//! show what it is. Characters that reorder text (Unicode UAX #9's explicit embeddings,
//! overrides and isolates: the "Trojan Source" trick, CVE-2021-42574) or show nothing at all
//! can make `care-plan` + U+202E + `fdp.exe` read as `care-planexe.pdf`. The hub cleans such text
//! whichever way it travels, with the rules here; clients show what the hub gives them.

/// Whether `c` reorders the text around it: the bidirectional embeddings, overrides and
/// isolates (U+202A–U+202E, U+2066–U+2069).
pub fn reorders_text(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether `c` shows nothing where it stands: the reordering characters above, the
/// direction marks (U+200E, U+200F, U+061C), zero-width and joining characters, word
/// joiners and invisible operators, the byte-order mark, soft hyphen, fillers that render
/// blank (Hangul fillers, the blank Braille pattern), deprecated and shorthand format
/// characters, variation selectors and tag characters: with the reordering ones, Unicode's
/// Default_Ignorable_Code_Point set (DerivedCoreProperties.txt).
pub fn hides_text(c: char) -> bool {
    reorders_text(c)
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2060}'..='\u{2064}'
                | '\u{206A}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{2800}'
                | '\u{FFF0}'..='\u{FFFB}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// `n` and the noun, singular for one: `1 recipient`, `3 recipients`.
pub fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A file name fit to show and to offer as a download name: no folders, no control
/// characters, nothing that hides or reorders text, no leading dots, not empty (then
/// `attachment`), at most 200 characters.
pub fn clean_file_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !hides_text(*c))
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .chars()
        .take(200)
        .collect();
    if cleaned.is_empty() {
        "attachment".into()
    } else {
        cleaned
    }
}

/// A one-line text people read as a heading or a name (a subject, a contact's or group's
/// name): on one line, without the characters that reorder text or that render blank.
/// Direction marks and zero-width joiners stay: right-to-left and joined scripts (Arabic,
/// Hebrew, Persian, the Indic scripts) and emoji need them, and they move no other text.
pub fn clean_line(raw: &str) -> String {
    let one_line: String = raw
        .chars()
        .map(|c| {
            // Line and paragraph separators (U+2028, U+2029) break a line as a newline does.
            if matches!(c, '\n' | '\r' | '\t' | '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .filter(|c| {
            let kept_mark = matches!(
                c,
                '\u{200C}' | '\u{200D}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
            );
            !c.is_control() && (kept_mark || !hides_text(*c))
        })
        .collect();
    one_line.trim().to_owned()
}

/// One megabyte as Sealpost states sizes and limits everywhere: 1,000,000 bytes (SI), so
/// "75 MB" means 75,000,000 bytes in the hub's limit, its messages and the apps.
pub const MEGABYTE: u64 = 1_000_000;

/// A size in megabytes as people read it: "75 MB", "78.6 MB".
pub fn megabytes(bytes: u64) -> String {
    if bytes.is_multiple_of(MEGABYTE) {
        format!("{} MB", bytes / MEGABYTE)
    } else {
        format!("{:.1} MB", bytes as f64 / MEGABYTE as f64)
    }
}

/// `println!` for the command lines (`sealpost`, `sealpost-hub`) that ends the program
/// quietly once whatever reads the output has gone (`sealpost read ID | head -3`): a closed
/// pipe is not the person's error. Other write failures (a full disk) are said on standard
/// error, with exit code 1.
#[macro_export]
macro_rules! say {
    () => { $crate::say!("") };
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            eprintln!("error: the output could not be written: {e}");
            std::process::exit(1);
        }
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_said_in_si_megabytes() {
        assert_eq!(megabytes(75_000_000), "75 MB");
        assert_eq!(megabytes(78_643_200), "78.6 MB");
    }

    #[test]
    fn a_name_cannot_disguise_its_extension() {
        assert_eq!(
            clean_file_name("care-plan\u{202E}fdp.exe"),
            "care-planfdp.exe"
        );
        assert_eq!(
            clean_file_name("report\u{2067}cod.exe\u{2069}.pdf"),
            "reportcod.exe.pdf"
        );
        assert_eq!(
            clean_file_name("in\u{200B}voice\u{FEFF}.pdf"),
            "invoice.pdf"
        );
        assert_eq!(clean_file_name("\u{E0041}\u{E0042}.txt"), "txt");
    }

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(
            clean_file_name("C:\\Users\\x\\care plan.pdf"),
            "care plan.pdf"
        );
        assert_eq!(clean_file_name("bad\u{0007}\nname.txt"), "badname.txt");
        assert_eq!(clean_file_name(".."), "attachment");
        assert_eq!(clean_file_name(""), "attachment");
        assert_eq!(clean_file_name("\u{202E}"), "attachment");
        assert_eq!(clean_file_name(&"x".repeat(500)).len(), 200);
    }

    #[test]
    fn subjects_keep_their_scripts_but_not_reordering() {
        assert_eq!(
            clean_line("Invoice \u{202E}fdp.exe\u{202C} attached"),
            "Invoice fdp.exe attached"
        );
        assert_eq!(clean_line("two\nlines\r\n"), "two lines");
        // Persian needs the zero-width non-joiner; Hebrew text may carry direction marks.
        assert_eq!(clean_line("می\u{200C}خواهم"), "می\u{200C}خواهم");
        assert_eq!(clean_line("\u{200F}שלום"), "\u{200F}שלום");
        assert_eq!(clean_line("a\u{3164}b\u{2060}c"), "abc");
    }
}
