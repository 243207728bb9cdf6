//! What an IT department sets for everyone on a computer (`desktop.toml`, named here by
//! `SEALPOST_SYSTEM_CONFIG`): the sign-in screen shows the organisation's hub instead of
//! asking for it, and with updates turned off no hub is asked for one. A wrong file is
//! said, and the app works without it.

use anyhow::{ensure, Result};
use sealpost_hub::{testing::TestServer, Caller};

use super::{finish, in_desktop_session, start_app_with, work_dirs, ADDRESS, PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_set_for_this_computer_is_used_without_asking() -> Result<()> {
    if !in_desktop_session() {
        return Ok(());
    }
    let (work, data_dir, home) = work_dirs("system-settings")?;
    let server = TestServer::start().await;
    server.catch_up_to_wall_clock();
    server.org_send(&[ADDRESS], "Set up by IT", "Hello.").await;
    let token = server.link_token(ADDRESS, "/register").await;
    server
        .hub
        .register(&token, PASSWORD, &Caller::default())
        .await?;
    let settings = work.join("desktop.toml");
    std::fs::write(
        &settings,
        format!("hub_url = \"{}\"\nupdates = false\n", server.url),
    )?;
    let (_desktop, mut ui) = start_app_with(
        &work,
        &data_dir,
        &home,
        &[("SEALPOST_SYSTEM_CONFIG", settings.display().to_string())],
    )
    .await?;
    let result = async {
        ui.wait_text("#hub-preset", &server.url).await?;
        ensure!(
            !ui.present("#hub").await,
            "the hub is not asked for when IT set it"
        );
        ui.shot("preset-hub").await?;
        ui.type_into("#email", ADDRESS).await?;
        ui.type_into("#password", PASSWORD).await?;
        ui.click("#sign-in").await?;
        ui.wait_text("#message-list", "Set up by IT").await?;
        ui.click("#tab-settings").await?;
        ui.wait_text(
            "#updates-managed",
            "IT department keeps Sealpost up to date",
        )
        .await?;
        ensure!(
            !ui.present("#update-check").await,
            "no update check is offered"
        );
        Ok(())
    }
    .await;
    finish(&mut ui, result).await?;

    // A file with a mistake: said on the first screen, and the hub is asked for again.
    let (work, data_dir, home) = work_dirs("system-settings-wrong")?;
    let settings = work.join("desktop.toml");
    std::fs::write(&settings, "hub_url = \"http://secure.example.gov.uk\"\n")?;
    let (_desktop, mut ui) = start_app_with(
        &work,
        &data_dir,
        &home,
        &[("SEALPOST_SYSTEM_CONFIG", settings.display().to_string())],
    )
    .await?;
    let result = async {
        let said = ui.wait_text("#settings-problem", "are not used").await?;
        ensure!(
            said.contains(&settings.display().to_string()) && said.contains("https://"),
            "the file and the reason are named: {said}"
        );
        ensure!(ui.present("#hub").await, "the hub is asked for");
        ui.shot("wrong-settings").await?;
        Ok(())
    }
    .await;
    finish(&mut ui, result).await
}
