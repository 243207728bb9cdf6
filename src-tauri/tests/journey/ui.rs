//! The app's window, as WebDriver sees it: find, click, type, wait for text, take pictures.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use fantoccini::{elements::Element, Client, ClientBuilder, Locator};

pub struct Ui {
    pub client: Client,
    display: String,
    pub shots: PathBuf,
    taken: usize,
}

const PATIENCE: Duration = Duration::from_secs(30);

impl Ui {
    /// Starts the app through the driver at `driver_url`.
    pub async fn launch(
        driver_url: &str,
        display: &str,
        app: &str,
        shots: PathBuf,
    ) -> Result<Self> {
        Self::launch_with_args(driver_url, display, app, &[], shots).await
    }

    /// Starts the app with command-line arguments (a `sealpost://` link, say).
    pub async fn launch_with_args(
        driver_url: &str,
        display: &str,
        app: &str,
        args: &[&str],
        shots: PathBuf,
    ) -> Result<Self> {
        let mut caps = serde_json::Map::new();
        // No browserName: WebKitGTK's driver refuses it.
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": app, "args": args }),
        );
        let client = ClientBuilder::native()
            .capabilities(caps)
            .connect(driver_url)
            .await
            .context("starting the app through tauri-driver")?;
        std::fs::create_dir_all(&shots)?;
        Ok(Self {
            client,
            display: display.to_owned(),
            shots,
            taken: 0,
        })
    }

    /// Waits for an element to be there.
    pub async fn wait(&self, css: &str) -> Result<Element> {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("waiting for {css}"))
    }

    /// Waits until the element's text contains `needle`; returns the text.
    pub async fn wait_text(&self, css: &str, needle: &str) -> Result<String> {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < PATIENCE {
            // innerText: the text as laid out for the eye (WebKitWebDriver's element text
            // leaves out text cut short with an ellipsis).
            let script = format!(
                "const e = document.querySelector({}); return e ? e.innerText : null;",
                serde_json::to_string(css)?
            );
            if let Ok(serde_json::Value::String(text)) = self.client.execute(&script, vec![]).await
            {
                last = text;
                if last.contains(needle) {
                    return Ok(last);
                }
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        bail!("{css} never showed {needle:?}; it last showed {last:?}")
    }

    /// An attribute of an element, once the element is there.
    pub async fn attr(&self, css: &str, name: &str) -> Result<Option<String>> {
        Ok(self.wait(css).await?.attr(name).await?)
    }

    /// Whether an element is there now.
    pub async fn present(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    /// Clicks the element, finding it again if the page redrew it in between.
    pub async fn click(&self, css: &str) -> Result<()> {
        let start = Instant::now();
        loop {
            let outcome = match self.wait(css).await {
                Ok(e) => e.click().await.map_err(anyhow::Error::from),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) => return Ok(()),
                Err(e) if start.elapsed() > PATIENCE => {
                    return Err(e.context(format!("clicking {css}")))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(150)).await,
            }
        }
    }

    /// Opens the menu of the button `menu` and picks its item `item`.
    pub async fn menu(&self, menu: &str, item: &str) -> Result<()> {
        self.click(menu).await?;
        self.click(item).await
    }

    /// Runs axe-core (npm `axe-core`, the rules tagged WCAG 2.0/2.1/2.2 A and AA) on the
    /// window as it is now, and fails on any serious or critical violation, naming the rule
    /// and the elements.
    pub async fn axe(&self, screen: &str) -> Result<()> {
        const SOURCE: &str = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../ui/node_modules/axe-core/axe.min.js"
        );
        if self.js("return typeof window.axe").await? != "object" {
            let source = std::fs::read_to_string(SOURCE)
                .with_context(|| format!("{SOURCE} (npm ci in ui/ installs it)"))?;
            self.client
                .execute(&format!("{source}\n;return true;"), vec![])
                .await
                .context("loading axe-core into the window")?;
        }
        let found = self
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                axe.run(document, {
                    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
                    resultTypes: ['violations'],
                }).then((r) => done(r.violations
                    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
                    .map((v) => `${v.id} (${v.impact}): ${v.help}\n` + v.nodes.slice(0, 6)
                        .map((n) => `    ${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ')}`).join('\n'))))
                  .catch((e) => done([`axe-core failed: ${e}`]));"#,
                vec![],
            )
            .await
            .context("running axe-core")?;
        let found: Vec<String> = serde_json::from_value(found)?;
        if !found.is_empty() {
            bail!(
                "accessibility ({screen}): {} serious or critical violations:\n{}",
                found.len(),
                found.join("\n")
            );
        }
        Ok(())
    }

    /// Walks the window with Tab from its first control and fails when a visible control is
    /// never reached, or is reached without a visible focus ring. Inside an open dialog,
    /// the dialog's controls only.
    pub async fn tab_through(&self, screen: &str) -> Result<()> {
        const DESCRIBE: &str = r#"const describe = (e) => e.id ? '#' + e.id
            : `${e.tagName.toLowerCase()}[${(e.getAttribute('aria-label') || e.textContent || '').trim().slice(0, 30)}]`;"#;
        let wanted = self
            .js(&[
                DESCRIBE,
                r#"
                const scope = document.querySelector('dialog[open]') || document;
                const sel = 'a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), '
                    + 'select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
                const shown = (e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0
                    && getComputedStyle(e).visibility !== 'hidden'; };
                const all = [...scope.querySelectorAll(sel)].filter(shown);
                document.activeElement?.blur?.();
                return all.map(describe);"#,
            ]
            .concat())
            .await?;
        let wanted: Vec<String> = serde_json::from_value(wanted)?;
        let mut seen = Vec::new();
        let mut unringed = Vec::new();
        for _ in 0..wanted.len() + 4 {
            self.client
                .active_element()
                .await?
                .send_keys("\u{E004}")
                .await?;
            let now = self
                .js(&[
                    DESCRIBE,
                    r#"
                    const e = document.activeElement;
                    if (!e || e === document.body) return null;
                    const s = getComputedStyle(e);
                    const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2)
                        || (s.boxShadow && s.boxShadow !== 'none');
                    return [describe(e), ring];"#,
                ]
                .concat())
                .await?;
            if let Some([who, ring]) =
                serde_json::from_value::<Option<[serde_json::Value; 2]>>(now)?
            {
                let who = who.as_str().unwrap_or_default().to_owned();
                if ring != true && !unringed.contains(&who) {
                    unringed.push(who.clone());
                }
                if !seen.contains(&who) {
                    seen.push(who);
                }
            }
            if wanted.iter().all(|w| seen.contains(w)) {
                break;
            }
        }
        let missed: Vec<&String> = wanted.iter().filter(|w| !seen.contains(w)).collect();
        if !missed.is_empty() || !unringed.is_empty() {
            bail!(
                "keyboard ({screen}): never reached by Tab: {missed:?}; reached without a visible \
                 focus ring: {unringed:?} (Tab order: {seen:?})"
            );
        }
        Ok(())
    }

    /// Clicks the message-list row showing `subject`.
    pub async fn click_row(&self, subject: &str) -> Result<()> {
        let row = self.row(subject).await?;
        self.click(&row).await
    }

    /// A CSS selector of the message-list row showing `subject`.
    pub async fn row(&self, subject: &str) -> Result<String> {
        self.wait_text("#message-list", subject).await?;
        let script = format!(
            "const r = [...document.querySelectorAll('#message-list .row-item')]\
               .find(r => r.innerText.includes({})); return r ? r.dataset.id : null;",
            serde_json::to_string(subject)?
        );
        let id = self.client.execute(&script, vec![]).await?;
        let id = id.as_str().context("a row with that subject")?;
        Ok(format!("#message-list .row-item[data-id='{id}']"))
    }

    /// Clicks the element while holding a modifier key (`'\u{E009}'` Control,
    /// `'\u{E008}'` Shift), as a person does: real key and pointer input through WebDriver.
    pub async fn click_holding(&self, css: &str, modifier: char) -> Result<()> {
        use fantoccini::actions::{
            Actions, InputSource, KeyAction, KeyActions, MouseActions, PointerAction,
            MOUSE_BUTTON_LEFT,
        };
        let element = self.wait(css).await?;
        let zero = Duration::ZERO;
        let keys = KeyActions::new("keys".into())
            .then(KeyAction::Down { value: modifier })
            .then(KeyAction::Pause { duration: zero })
            .then(KeyAction::Pause { duration: zero })
            .then(KeyAction::Up { value: modifier });
        let mouse = MouseActions::new("mouse".into())
            .then(PointerAction::MoveToElement {
                element,
                duration: None,
                x: 0.0,
                y: 0.0,
            })
            .then(PointerAction::Down {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::Up {
                button: MOUSE_BUTTON_LEFT,
            })
            .then(PointerAction::Pause { duration: zero });
        self.client
            .perform_actions(Actions::from(keys).and(mouse))
            .await
            .with_context(|| format!("clicking {css} with a key held"))?;
        self.client.release_actions().await?;
        Ok(())
    }

    pub async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let e = self.wait(css).await?;
        e.clear().await.ok();
        // Emptying a field is typing too: a space and a backspace, so the page hears it.
        let keys = if text.is_empty() { " \u{E003}" } else { text };
        e.send_keys(keys)
            .await
            .with_context(|| format!("typing into {css}"))
    }

    /// Runs a script in the page and returns its value.
    pub async fn js(&self, script: &str) -> Result<serde_json::Value> {
        Ok(self.client.execute(script, vec![]).await?)
    }

    /// Keeps a picture of the screen as a test artefact. (WebKitWebDriver's own screenshot
    /// command does not answer under Xvfb; the X server's picture also shows dialogs.)
    pub async fn shot(&mut self, name: &str) -> Result<()> {
        self.taken += 1;
        let to = self.shots.join(format!("{:02}-{name}.png", self.taken));
        // Let the last change paint first.
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let status = tokio::process::Command::new("import")
            .args(["-window", "root"])
            .arg(&to)
            .env("DISPLAY", &self.display)
            .status()
            .await
            .context("running import (imagemagick)")?;
        anyhow::ensure!(status.success(), "the screenshot {name} failed");
        Ok(())
    }
}
