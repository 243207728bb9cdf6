//! Writes the terminal client's manual pages (roff, section 1) into the folder given as the
//! only argument: `sealpost.1` and one page per command (`sealpost-sync.1`, …), as git and
//! cargo do. `make package` runs it; the pages come from the same definition as `--help`.

#[allow(dead_code)]
#[path = "../src/cli.rs"]
mod cli;

use std::{io::Write, path::Path};

use clap::CommandFactory;
use clap_mangen::Man;

/// What `sealpost` exits with, as `main.rs` maps errors (its module documentation).
const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Done."),
    ("1", "Failed (the message says why)."),
    ("2", "Bad usage: an unknown command or option, or a missing argument."),
    ("3", "The hub cannot be reached (offline, or its address is wrong)."),
    ("4", "Sign in needed: no session, a wrong password or code, a locked or disabled account, or access removed."),
    ("5", "Refused by a rule: a recipient outside the organisation, an attachment limit, a weak password."),
];

/// The environment `sealpost` reads, beside the options' own (`--account`, `--as`, `--hub`).
const ENVIRONMENT: &[(&str, &str)] = &[
    ("SEALPOST_ACCOUNT", "The mailbox, as --account."),
    (
        "SEALPOST_AS",
        "The person working a shared mailbox, as --as.",
    ),
    ("SEALPOST_HUB", "The hub, as --hub."),
    (
        "SEALPOST_DATA_DIR",
        "Another folder for the mailboxes' encrypted copies.",
    ),
    (
        "SEALPOST_SYSTEM_CONFIG",
        "Another file in place of /etc/sealpost/desktop.toml.",
    ),
];

fn main() -> std::io::Result<()> {
    let out = std::env::args_os()
        .nth(1)
        .ok_or_else(|| std::io::Error::other("usage: manual OUT_DIR"))?;
    let out = Path::new(&out);
    std::fs::create_dir_all(out)?;
    let mut cmd = cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    let version = cmd.get_version().unwrap_or_default().to_owned();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages_of(sub, out, &version)?;
    }

    // The top page: the usual sections, then the exit status and where else to look.
    let man = Man::new(cmd.clone())
        .source(format!("sealpost {version}"))
        .manual("Sealpost");
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    man.render_subcommands_section(&mut page)?;
    writeln!(page, ".SH \"EXIT STATUS\"")?;
    for (code, meaning) in EXIT_STATUS {
        writeln!(page, ".TP\n{code}\n{meaning}")?;
    }
    writeln!(page, ".SH ENVIRONMENT")?;
    for (name, meaning) in ENVIRONMENT {
        writeln!(page, ".TP\n\\fB{name}\\fR\n{meaning}")?;
    }
    writeln!(page, ".SH FILES")?;
    writeln!(
        page,
        "The mailboxes' encrypted copies (vaults) are in the data folder, \
         \\fI$XDG_DATA_HOME/sealpost\\fR (\\fI~/.local/share/sealpost\\fR), \
         shared with the desktop app; their keys are in the system keyring. \
         \\fBSEALPOST_DATA_DIR\\fR names another data folder."
    )?;
    writeln!(
        page,
        ".PP\n\\fI/etc/sealpost/desktop.toml\\fR holds what the IT department set for \
         everyone on this computer: \\fBhub_url\\fR, the organisation's hub, which \
         \\fBsealpost account add\\fR uses when no \\fB\\-\\-hub\\fR is given."
    )?;
    writeln!(page, ".SH \"SEE ALSO\"\n\\fBsealpost-desktop\\fR(1)")?;
    man.render_version_section(&mut page)?;
    std::fs::write(out.join("sealpost.1"), page)
}

/// Writes `cmd`'s page and those of its own commands.
fn pages_of(cmd: &clap::Command, out: &Path, version: &str) -> std::io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        pages_of(sub, out, version)?;
    }
    Man::new(cmd.clone())
        .source(format!("sealpost {version}"))
        .manual("Sealpost")
        .generate_to(out)
        .map(|_| ())
}
