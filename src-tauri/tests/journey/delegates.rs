//! A shared mailbox worked by named people, in the real window: its owner invites Alice
//! in Settings → People, Alice registers on the same workstation and finds the shared
//! mailbox beside her own, labelled with her name, and replies from it; the staff email
//! names her; the owner removes her, and her copy leaves the window and the disk.

use anyhow::{ensure, Context, Result};
use sealpost_hub::testing::{TestServer, STAFF};

use super::{
    email_to, finish, in_desktop_session, register, registration_link, start_app, wait_js,
    work_dirs,
};

const SHARED: &str = "care.referrals@partner.example";
const ALICE: &str = "alice@partner.example";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owner_invites_alice_who_replies_as_herself_until_removed() -> Result<()> {
    if !in_desktop_session() {
        return Ok(());
    }
    let (work, data_dir, home) = work_dirs("delegates")?;
    let server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    server
        .org_send(&[SHARED], "Referral for the team", "Please reply.")
        .await;
    let shared_link = registration_link(&server, SHARED).await?;
    let (_desktop, mut ui) = start_app(&work, &data_dir, &home).await?;
    let result = async {
        ui.wait("#sign-in").await?;
        register(&ui, &shared_link, SHARED).await?;
        ui.wait_text("#message-list", "Referral for the team")
            .await?;

        // The owner invites Alice by her own address.
        ui.click("#tab-settings").await?;
        ui.wait("#people-none").await?;
        ui.type_into("#people-name", "Alice Smith").await?;
        ui.type_into("#people-email", ALICE).await?;
        ui.click("#people-add").await?;
        ui.wait_text("#people", "Invited").await?;
        ui.shot("people-invited").await?;

        // Alice registers from her invitation on this workstation: her own mailbox and
        // the shared one, labelled with who she is there.
        let alice_link = registration_link(&server, ALICE).await?;
        ui.click("#add-mailbox").await?;
        register(&ui, &alice_link, ALICE).await?;
        let as_alice = format!("button[data-account='{SHARED}'][data-person='{ALICE}']");
        ui.wait_text(&as_alice, "you are Alice Smith")
            .await
            .context("the shared mailbox shows beside hers, labelled")?;
        ui.click(&as_alice).await?;
        ui.wait_text("#message-list", "Referral for the team")
            .await?;
        ui.shot("delegate-mailbox").await?;
        ui.click_row("Referral for the team").await?;
        ui.click("#reply").await?;
        ui.type_into("#body", "Alice here: we will call the family today.")
            .await?;
        ui.click("#send").await?;
        // The text part is quoted-printable: its soft line breaks are joined first.
        let email = email_to(&server, STAFF, "we will call the family").await?;
        let joined = email.replace("=\r\n", "").replace("=\n", "");
        ensure!(
            joined.contains(&format!("Alice Smith ({ALICE}) for {SHARED}")),
            "the staff email names her: {email}"
        );

        // The owner removes her: the shared mailbox leaves her side of the window and
        // its copy leaves the disk.
        let owner = format!("button[data-account='{SHARED}'][data-person='']");
        ui.click(&owner).await?;
        ui.click("#tab-settings").await?;
        ui.wait_text("#people", "Joined").await?;
        ui.click("#people .remove").await?;
        ui.click("#people .remove-confirm").await?;
        wait_js(
            &ui,
            &format!("return !document.querySelector(\"{as_alice}\")"),
            "Alice's copy of the shared mailbox left the window",
        )
        .await?;
        let listed = std::fs::read_to_string(data_dir.join("accounts.json"))?;
        ensure!(
            !listed.contains("\"person\""),
            "no delegate's account is left on this computer: {listed}"
        );
        let vaults = std::fs::read_dir(&data_dir)?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".vault"))
            .count();
        ensure!(
            vaults == 2,
            "the owner's and Alice's own vaults only: {vaults}"
        );
        ui.wait("#people-none").await?;
        Ok::<(), anyhow::Error>(())
    }
    .await;
    finish(&mut ui, result).await
}
