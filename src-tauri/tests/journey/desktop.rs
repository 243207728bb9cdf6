//! The desktop around the app under test: an X display (Xvfb), a notification daemon
//! (dunst) with a recorder of what it is asked to show, and tauri-driver driving
//! WebKitWebDriver. Each process is stopped when dropped.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

/// A child process stopped on drop: asked first (SIGTERM), so that Xvfb removes its socket
/// and lock file, then killed if it has not ended within two seconds.
pub struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let asked = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .stderr(Stdio::null())
            .status();
        if asked.is_ok_and(|s| s.success()) {
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(2) {
                if let Ok(Some(_)) = self.0.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Proc {
    /// Starts `cmd` (`what` names it in an error).
    pub fn spawn(cmd: &mut Command, what: &str) -> Result<Self> {
        spawn(cmd, what)
    }
}

fn spawn(cmd: &mut Command, what: &str) -> Result<Proc> {
    Ok(Proc(cmd.spawn().with_context(|| {
        format!("starting {what} (run `make deps` to install it)")
    })?))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Everything the app needs around it, in one place.
pub struct Desktop {
    pub display: String,
    work: PathBuf,
    pub monitor_log: PathBuf,
    pub driver_url: String,
    // Field order is drop order: the driver (and the app) go before the display.
    _driver: Proc,
    _monitor: Proc,
    _dunst: Proc,
    _xvfb: Proc,
}

impl Desktop {
    /// Starts the display, the notification daemon and tauri-driver. `env` is what the app
    /// is started with (tauri-driver passes its environment on).
    pub fn start(work: &Path, env: &[(&str, String)]) -> Result<Self> {
        // Xvfb picks a free display itself (stale lock files of dead servers count as
        // free) and writes its number once it accepts connections.
        let mut xvfb = spawn(
            Command::new("Xvfb")
                .args([
                    "-displayfd",
                    "1",
                    "-screen",
                    "0",
                    "1280x800x24",
                    "-nolisten",
                    "tcp",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
            "Xvfb",
        )?;
        let mut number = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(xvfb.0.stdout.take().context("Xvfb's output")?),
            &mut number,
        )
        .context("reading Xvfb's display number")?;
        let number: u32 = number
            .trim()
            .parse()
            .with_context(|| format!("Xvfb gave no display number ({number:?})"))?;
        let display = format!(":{number}");

        let dunst = spawn(
            Command::new("dunst")
                .env("DISPLAY", &display)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            "dunst",
        )?;
        let monitor_log = work.join("notifications.log");
        let monitor = spawn(
            Command::new("dbus-monitor")
                .args([
                    "--session",
                    "interface='org.freedesktop.Notifications',member='Notify'",
                ])
                .stdout(std::fs::File::create(&monitor_log)?)
                .stderr(Stdio::null()),
            "dbus-monitor",
        )?;

        let port = free_port();
        let mut driver = Command::new("tauri-driver");
        driver
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &free_port().to_string(),
            ])
            .env("DISPLAY", &display)
            .env("NO_AT_BRIDGE", "1")
            .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
            .stdout(std::fs::File::create(work.join("driver.log"))?)
            .stderr(std::fs::File::create(work.join("app.log"))?);
        for (k, v) in env {
            driver.env(k, v);
        }
        // GTK's settings (the file dialog's among them) come from a file of the test's own,
        // not from the session's dconf, which every test would share and change: the file
        // dialog opens on its folder view, not on recent files, whose list loads late and
        // takes the focus from a path being typed on a busy machine.
        let config = env
            .iter()
            .find(|(k, _)| *k == "XDG_CONFIG_HOME")
            .map(|(_, v)| PathBuf::from(v))
            .or_else(|| {
                env.iter()
                    .find(|(k, _)| *k == "HOME")
                    .map(|(_, v)| Path::new(v).join(".config"))
            })
            .unwrap_or_else(|| work.join("config"));
        let settings = config.join("glib-2.0/settings");
        std::fs::create_dir_all(&settings)?;
        std::fs::write(
            settings.join("keyfile"),
            "[org/gtk/settings/file-chooser]\nstartup-mode='cwd'\n",
        )?;
        driver
            .env("GSETTINGS_BACKEND", "keyfile")
            .env("XDG_CONFIG_HOME", &config);
        let driver = spawn(&mut driver, "tauri-driver")?;
        wait_for(Duration::from_secs(20), "tauri-driver", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        })?;
        Ok(Self {
            display,
            work: work.to_owned(),
            monitor_log,
            driver_url: format!("http://127.0.0.1:{port}"),
            _driver: driver,
            _monitor: monitor,
            _dunst: dunst,
            _xvfb: xvfb,
        })
    }

    /// Starts `program` on this display, stopped when the answer is dropped.
    pub fn start_on_display(&self, program: &str, args: &[&str]) -> Result<Proc> {
        spawn(
            Command::new(program)
                .args(args)
                .env("DISPLAY", &self.display)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            program,
        )
    }

    /// Runs xdotool on this display.
    pub fn xdotool(&self, args: &[&str]) -> Result<String> {
        let out = Command::new("timeout")
            .arg("30")
            .arg("xdotool")
            .args(args)
            .env("DISPLAY", &self.display)
            .output()
            .context("running xdotool")?;
        if !out.status.success() {
            bail!(
                "xdotool {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Answers the system's file dialog titled `title` by typing `path` into it.
    pub fn answer_file_dialog(&self, title: &str, path: &Path, save: bool) -> Result<()> {
        let window = self.xdotool(&["search", "--sync", "--onlyvisible", "--name", title])?;
        let window = window.lines().last().unwrap_or_default().to_owned();
        self.xdotool(&["windowfocus", "--sync", &window])?;
        // The GTK chooser needs a moment after mapping before it takes typed input.
        std::thread::sleep(Duration::from_millis(700));
        if save {
            // The name field has focus, holding the suggested name: replace it whole.
            self.xdotool(&["key", "--clearmodifiers", "ctrl+a"])?;
        } else {
            // Open dialogs take a typed location after Ctrl+L.
            self.xdotool(&["key", "--clearmodifiers", "ctrl+l"])?;
        }
        self.xdotool(&["type", "--delay", "15", &path.display().to_string()])?;
        std::thread::sleep(Duration::from_millis(300));
        self.xdotool(&["key", "Return"])?;
        // The dialog closes once it took the path; a path lost to a busy machine is told
        // here, with a picture of the screen, rather than as a later wait in the app.
        let closed = wait_for(Duration::from_secs(15), "the file dialog to close", || {
            self.xdotool(&["search", "--onlyvisible", "--name", title])
                .is_err()
        });
        if closed.is_err() {
            let shot = self.screenshot("file-dialog");
            bail!(
                "the file dialog {title:?} did not take the typed path {path:?} (screen: {shot})"
            );
        }
        Ok(())
    }

    /// A picture of the whole screen in the test's folder, for a failure; says where it
    /// is, or why there is none.
    pub fn screenshot(&self, name: &str) -> String {
        let file = self.work.join("screens").join(format!("{name}-screen.png"));
        let _ = std::fs::create_dir_all(self.work.join("screens"));
        match Command::new("import")
            .args(["-window", "root"])
            .arg(&file)
            .env("DISPLAY", &self.display)
            .status()
        {
            Ok(s) if s.success() => file.display().to_string(),
            other => format!("none ({other:?})"),
        }
    }

    /// Drags `files` (folders too) from a small file-offering window, as a file manager would,
    /// and drops them in the middle of the app's window, moving the real pointer with xdotool.
    pub fn drop_files_on_app(&self, files: &[&Path]) -> Result<()> {
        let _source = self.gtk_window("drag_source.py", files, "the drag source")?;
        let source = self.window("^Sealpost test drag source$")?;
        let app = self.window("^Sealpost( — .*)?$")?;
        let (sx, sy) = self.centre(&source)?;
        let (ax, ay) = self.centre(&app)?;
        self.drag_pointer((sx, sy), (ax, ay))
    }

    /// Starts one of the test's small GTK windows (`script` in tests/journey/) on this
    /// display; it goes when the returned process is dropped.
    fn gtk_window(&self, script: &str, args: &[&Path], what: &str) -> Result<Proc> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/journey")
            .join(script);
        spawn(
            // Debian's python3-gi belongs to the system Python, whatever else is on PATH.
            Command::new("/usr/bin/python3")
                .arg(path)
                .args(args)
                .env("DISPLAY", &self.display)
                .env("NO_AT_BRIDGE", "1")
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            &format!("{what} (python3-gi)"),
        )
    }

    /// Presses the button at `from`, moves the real pointer to `to` in steps, as a hand
    /// would (GTK starts a drag once it has moved a few pixels with the button held), lets
    /// go, and waits for the drop's data, which is asked for after the release.
    fn drag_pointer(&self, (sx, sy): (i64, i64), (tx, ty): (i64, i64)) -> Result<()> {
        self.xdotool(&["mousemove", "--sync", &sx.to_string(), &sy.to_string()])?;
        self.xdotool(&["mousedown", "1"])?;
        for step in 1..=20 {
            let x = sx + (tx - sx) * step / 20;
            let y = sy + (ty - sy) * step / 20;
            self.xdotool(&["mousemove", &x.to_string(), &y.to_string()])?;
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(400));
        self.xdotool(&["mouseup", "1"])?;
        std::thread::sleep(Duration::from_millis(800));
        Ok(())
    }

    /// Drags from the point (`x`, `y`) of the app's page (CSS pixels from its top-left)
    /// onto a small folder-like window that copies what is dropped into `into`, moving the
    /// real pointer with xdotool. Returns once the drop had time to be delivered.
    pub fn drag_from_app_to_folder(&self, x: i64, y: i64, into: &Path) -> Result<()> {
        let _target = self.gtk_window("drop_target.py", &[into], "the drop target")?;
        let target = self.window("^Sealpost test drop target$")?;
        let app = self.window("^Sealpost( — .*)?$")?;
        let (ox, oy, _, _) = self.geometry(&app)?;
        self.drag_pointer((ox + x, oy + y), self.centre(&target)?)
    }

    /// The id of the visible window whose title matches `pattern`.
    fn window(&self, pattern: &str) -> Result<String> {
        let found = self.xdotool(&["search", "--sync", "--onlyvisible", "--name", pattern])?;
        found
            .lines()
            .last()
            .map(str::to_owned)
            .with_context(|| format!("no window named {pattern}"))
    }

    /// A window's top-left corner and size, in screen coordinates: (x, y, width, height).
    fn geometry(&self, window: &str) -> Result<(i64, i64, i64, i64)> {
        let shell = self.xdotool(&["getwindowgeometry", "--shell", window])?;
        let get = |key: &str| -> Result<i64> {
            shell
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .and_then(|v| v.parse().ok())
                .with_context(|| format!("{key} of window {window}: {shell}"))
        };
        Ok((get("X")?, get("Y")?, get("WIDTH")?, get("HEIGHT")?))
    }

    /// The centre of a window, in screen coordinates.
    fn centre(&self, window: &str) -> Result<(i64, i64)> {
        let (x, y, w, h) = self.geometry(window)?;
        Ok((x + w / 2, y + h / 2))
    }

    /// What the notification daemon was asked to show so far.
    pub fn notifications(&self) -> String {
        std::fs::read_to_string(&self.monitor_log).unwrap_or_default()
    }

    /// Clicks the newest notification (its default action), as a person would.
    pub fn click_notification(&self) -> Result<()> {
        let status = Command::new("dunstctl")
            .args(["action", "0"])
            .env("DISPLAY", &self.display)
            .status()
            .context("running dunstctl")?;
        if !status.success() {
            bail!("dunstctl action failed");
        }
        Ok(())
    }
}

pub fn wait_for(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if ready() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{what} was not ready after {limit:?}")
}
