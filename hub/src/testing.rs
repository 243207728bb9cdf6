//! A hub for tests: a real server on 127.0.0.1:0 with a temporary data directory, a clock
//! the test moves, and the outbox read back. Used by the hub's own integration tests and by
//! the cross-component tests; built only with the `testing` feature.

use std::{path::PathBuf, sync::Arc};

use chrono::{DateTime, Duration, Utc};
use tempfile::TempDir;
use tokio::sync::oneshot;

use crate::{
    clock::{OsEntropy, TestClock},
    config::HubConfig,
    sending::{AttachmentFile, OrgMessage},
    Caller, Hub, InitOptions,
};

/// The organisation's staff member tests send as.
pub const STAFF: &str = "case.worker@example.gov.uk";

/// A hub running in this process on 127.0.0.1 with a clock the test moves, stopped when
/// dropped.
pub struct TestServer {
    pub dir: TempDir,
    pub hub: Arc<Hub>,
    pub clock: TestClock,
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// Hears commits of other processes (a `sealpost-hub send` run by the test).
    feed: crate::hub::Hearing,
}

impl TestServer {
    /// A hub with the default configuration.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A hub whose `hub.toml` is adjusted by `configure` before it opens.
    pub async fn start_with(configure: impl FnOnce(&mut HubConfig)) -> Self {
        Self::start_on(postgres::test_store(), configure).await
    }

    /// A hub keeping its rows in `store` (`None`: SQLite), `hub.toml` adjusted by
    /// `configure`.
    pub async fn start_on(
        store: Option<crate::config::StoreConfig>,
        configure: impl FnOnce(&mut HubConfig),
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("hub");
        let mut config = Hub::init(
            &data,
            InitOptions {
                org_name: "Example Council".into(),
                org_domains: vec!["example.gov.uk".into()],
                public_url: "http://hub.invalid".into(),
                store,
                blobs: garage::test_blobs(),
            },
        )
        .expect("init");
        configure(&mut config);
        std::fs::write(data.join("hub.toml"), toml::to_string(&config).unwrap()).unwrap();
        let start: DateTime<Utc> = "2026-03-02T09:00:00Z".parse().unwrap();
        Self::start_in(dir, start).await
    }

    /// Another replica of this hub: a second hub on the same (PostgreSQL) store, from a
    /// data directory of its own holding copies of `hub.toml` and `master.key`, on its own
    /// port, sharing this one's clock.
    pub async fn replica(&self) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("hub");
        crate::config::private_dir(&data).expect("data dir");
        for file in ["hub.toml", "master.key"] {
            std::fs::copy(self.data().join(file), data.join(file)).expect("copy");
        }
        Self::serve(dir, self.clock.clone()).await
    }

    /// A hub on the data directory `dir/hub` made before (by [`TestServer::stop`], or a
    /// fixture), its clock at `start`.
    pub async fn start_in(dir: TempDir, start: DateTime<Utc>) -> Self {
        Self::serve(dir, TestClock::at(start)).await
    }

    async fn serve(dir: TempDir, clock: TestClock) -> Self {
        let data = dir.path().join("hub");
        let hub = Arc::new(
            Hub::open_with(&data, Arc::new(clock.clone()), Arc::new(OsEntropy)).expect("open"),
        );
        let feed = hub.hear_other_processes().expect("the events socket binds");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        // The API only: tests deliver queued mail themselves (`emails_to`), so that no
        // background worker races them. `serve` with its worker is tested on its own.
        let app = crate::api::router(hub.clone())
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self {
            dir,
            hub,
            clock,
            url,
            stop: Some(stop),
            task: Some(task),
            feed,
        }
    }

    /// Stops answering (as a hub behind a broken network would); the data stays.
    pub async fn go_offline(&mut self) {
        self.hub.close_event_streams();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Stops the server and closes the hub (its lock too), keeping the data directory.
    pub async fn stop(mut self) -> TempDir {
        self.go_offline().await;
        self.hub.background_done().await;
        // No longer listening on a shared database either (which lets go of its serving
        // lock): as a stopped process.
        self.feed.stop().await;
        let replacement = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, replacement)
    }

    /// Answers again, at the same address.
    /// Stops serving, changes the hub's configuration as an admin editing `hub.toml`
    /// would, and starts again on the same address, store and clock (a restart).
    pub async fn restart_with(&mut self, configure: impl FnOnce(&mut HubConfig)) {
        self.go_offline().await;
        self.hub.background_done().await;
        self.feed.stop().await;
        let data = self.data();
        let path = data.join("hub.toml");
        let mut config: HubConfig =
            toml::from_str(&std::fs::read_to_string(&path).expect("hub.toml")).expect("parses");
        configure(&mut config);
        std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
        self.hub = Arc::new(
            Hub::open_with(&data, Arc::new(self.clock.clone()), Arc::new(OsEntropy)).expect("open"),
        );
        self.feed = self
            .hub
            .hear_other_processes()
            .expect("the events socket binds");
        self.come_back().await;
    }

    pub async fn come_back(&mut self) {
        let address = self.url.trim_start_matches("http://").to_owned();
        let listener = tokio::net::TcpListener::bind(&address)
            .await
            .expect("the same port again");
        self.hub.open_event_streams();
        let (stop, stopped) = oneshot::channel::<()>();
        let app = crate::api::router(self.hub.clone())
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        self.task = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        }));
        self.stop = Some(stop);
    }

    /// The names of the hub's encrypted files (in its folder or its bucket), sorted.
    pub fn blob_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .hub
            .blobs()
            .list()
            .expect("the blobs list")
            .into_iter()
            .map(|b| b.name)
            .filter(|n| !n.starts_with(".ready-"))
            .collect();
        names.sort();
        names
    }

    /// The bytes of the encrypted file `name`.
    pub fn read_blob(&self, name: &str) -> Vec<u8> {
        let mut out = Vec::new();
        std::io::Read::read_to_end(
            &mut self.hub.blobs().open(name).expect("the blob"),
            &mut out,
        )
        .expect("the blob reads");
        out
    }

    /// Replaces the encrypted file `name` with `bytes` (as a fault would leave it).
    pub fn replace_blob(&self, name: &str, bytes: &[u8]) {
        let blobs = self.hub.blobs();
        blobs.remove(name).expect("remove");
        let mut w = blobs.create(name).expect("create");
        std::io::Write::write_all(&mut w, bytes).expect("write");
        w.finish().expect("finish");
    }

    /// The hub's data directory.
    pub fn data(&self) -> PathBuf {
        self.dir.path().join("hub")
    }

    /// The code an authenticator app holding `secret` (base32; spaces, as apps show it,
    /// allowed) shows at the hub's time: RFC 6238 with SHA-1, 6 digits, 30 s.
    pub fn authenticator_code(&self, secret: &str) -> String {
        use crate::clock::Clock;
        let secret: String = secret.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = totp_rs::Secret::Encoded(secret)
            .to_bytes()
            .expect("a base32 secret");
        let totp = totp_rs::TOTP::new(
            totp_rs::Algorithm::SHA1,
            6,
            0,
            30,
            bytes,
            None,
            "test".into(),
        )
        .expect("a usable secret");
        totp.generate(self.clock.now().timestamp() as u64)
    }

    /// Moves the hub's clock forward.
    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Moves the hub's clock to the wall clock's time (forward only), for tests whose other
    /// side (a desktop app) reads the real time: expiry then means the same to both.
    pub fn catch_up_to_wall_clock(&self) {
        use crate::clock::Clock;
        let behind = Utc::now() - self.clock.now();
        if behind > Duration::zero() {
            self.clock.advance(behind);
        }
    }

    /// Staff send a message to `to`; returns the send id.
    pub async fn org_send(&self, to: &[&str], subject: &str, body: &str) -> String {
        self.hub
            .send_org_message(
                OrgMessage {
                    from: STAFF.into(),
                    to: to.iter().map(|s| s.to_string()).collect(),
                    subject: subject.into(),
                    body_text: body.into(),
                    ..Default::default()
                },
                &Caller::cli(),
            )
            .await
            .expect("org send")
            .id
    }

    /// Staff send a message with attachments.
    pub async fn org_send_files(
        &self,
        to: &str,
        subject: &str,
        body: &str,
        files: &[PathBuf],
    ) -> String {
        self.hub
            .send_org_message(
                OrgMessage {
                    from: STAFF.into(),
                    to: vec![to.into()],
                    subject: subject.into(),
                    body_text: body.into(),
                    attachments: files
                        .iter()
                        .cloned()
                        .map(AttachmentFile::from_path)
                        .collect(),
                    ..Default::default()
                },
                &Caller::cli(),
            )
            .await
            .expect("org send")
            .id
    }

    /// Every email the hub has written for `to`, oldest first (waits for work started
    /// after an answer, and delivers the queue, first).
    pub async fn emails_to(&self, to: &str) -> Vec<String> {
        self.hub.background_done().await;
        self.hub.deliver_mail().await.expect("deliver mail");
        let mut files: Vec<_> = std::fs::read_dir(self.data().join("outbox"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .filter(|text| text.lines().any(|l| l == format!("To: {to}")))
            .collect()
    }

    /// How many entries of the audit log record `event` (`sign_in_failed`, say).
    pub async fn audit_count(&self, event: &str) -> usize {
        self.hub
            .audit_log(DateTime::<Utc>::MIN_UTC)
            .await
            .expect("audit log")
            .iter()
            .filter(|e| e.event == event)
            .count()
    }

    /// The token of the newest link to `path` (`/register` or `/reset`) emailed to `to`.
    pub async fn link_token(&self, to: &str, path: &str) -> String {
        let emails = self.emails_to(to).await;
        emails
            .iter()
            .rev()
            .find_map(|e| token_in(e, path))
            .unwrap_or_else(|| panic!("no {path} link emailed to {to}"))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.feed.abort();
    }
}

/// The store of the hub in `data` (SQLite or PostgreSQL, as its `hub.toml` says), for
/// tests that read or shape rows by hand, with the hub open or not.
pub fn store_of(data: &std::path::Path) -> crate::store::Store {
    let dir = crate::config::DataDir::new(data);
    let config = HubConfig::read(&dir).expect("hub.toml");
    crate::store::Store::at(&config.store_location(&dir)).expect("the store opens")
}

/// The token of a `path?token=` link in an email's text.
pub fn token_in(email: &str, path: &str) -> Option<String> {
    let marker = format!("{path}?token=");
    let start = email.find(&marker)? + marker.len();
    Some(
        email[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect(),
    )
}

/// PostgreSQL for tests: a throwaway cluster, and a fresh schema per test hub.
///
/// When `SEALPOST_TEST_POSTGRES` names a server (`scripts/with-postgres.sh` starts one for
/// a whole run), every [`TestServer`] keeps its rows there, each in a schema of its own:
/// the hub's suite runs once on SQLite and once on PostgreSQL, unchanged.
pub mod postgres {
    use std::{
        path::{Path, PathBuf},
        process::Command,
    };

    use tempfile::TempDir;

    use crate::config::StoreConfig;

    /// The variable naming the server tests use (`postgres://USER@HOST:PORT/DB`).
    pub const SERVER_ENV: &str = "SEALPOST_TEST_POSTGRES";

    /// A PostgreSQL cluster of its own in a temporary folder, on a free loopback port,
    /// run as the `postgres` user when this process is root (`initdb` refuses root), and
    /// stopped (`pg_ctl -m immediate`) when dropped. Durability is off (`fsync=off`): its
    /// data is thrown away.
    pub struct Cluster {
        dir: TempDir,
        port: u16,
        bin: PathBuf,
    }

    impl Cluster {
        /// Creates and starts a cluster (about a second). Panics with what failed.
        pub fn start() -> Self {
            Self::start_with(None)
        }

        /// A cluster that accepts TLS connections only (`hostssl` in `pg_hba.conf`), with
        /// the certificate chain and key in the PEM files `cert` and `key`.
        pub fn start_tls(cert: &Path, key: &Path) -> Self {
            Self::start_with(Some((cert, key)))
        }

        fn start_with(tls: Option<(&Path, &Path)>) -> Self {
            let bin = bin_dir();
            let dir = tempfile::Builder::new()
                .prefix("sealpost-pg-")
                .tempdir()
                .expect("a temporary folder");
            let data = dir.path().join("data");
            std::fs::create_dir(&data).unwrap();
            if is_root() {
                let status = Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(dir.path())
                    .status()
                    .expect("chown runs");
                assert!(status.success(), "the cluster folder is given to postgres");
            }
            run_as_postgres(Command::new(bin.join("initdb")).arg("-D").arg(&data).args([
                "-A",
                "trust",
                "-U",
                "sealpost",
                "--no-sync",
                "-E",
                "UTF8",
            ]));
            let port = free_port();
            let mut options = format!(
                "-k {} -c listen_addresses=127.0.0.1 -p {port} -c fsync=off \
                 -c synchronous_commit=off -c full_page_writes=off -c max_connections=400",
                dir.path().display()
            );
            if let Some((cert, key)) = tls {
                std::fs::copy(cert, data.join("server.crt")).unwrap();
                std::fs::copy(key, data.join("server.key")).unwrap();
                std::fs::write(
                    data.join("pg_hba.conf"),
                    "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
                )
                .unwrap();
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(
                    data.join("server.key"),
                    std::fs::Permissions::from_mode(0o600),
                )
                .unwrap();
                if is_root() {
                    let status = Command::new("chown")
                        .args(["-R", "postgres:postgres"])
                        .arg(&data)
                        .status()
                        .expect("chown runs");
                    assert!(status.success(), "the TLS files are given to postgres");
                }
                options
                    .push_str(" -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key");
            }
            run_as_postgres(
                Command::new(bin.join("pg_ctl"))
                    .arg("-D")
                    .arg(&data)
                    .arg("-w")
                    .arg("-l")
                    .arg(dir.path().join("log"))
                    .args(["-o", &options, "start"]),
            );
            Self { dir, port, bin }
        }

        /// The URL of database `db` (`postgres` always exists: `initdb` makes it).
        pub fn url(&self, db: &str) -> String {
            format!("postgres://sealpost@127.0.0.1:{}/{db}", self.port)
        }

        /// The loopback port it listens on.
        pub fn port(&self) -> u16 {
            self.port
        }
    }

    impl Drop for Cluster {
        fn drop(&mut self) {
            let mut stop = Command::new(self.bin.join("pg_ctl"));
            stop.arg("-D")
                .arg(self.dir.path().join("data"))
                .args(["-m", "immediate", "stop"]);
            let _ = as_postgres(&mut stop).output();
        }
    }

    /// The store for a new test hub: a fresh schema on `SEALPOST_TEST_POSTGRES`'s server,
    /// or `None` (SQLite) when it is not set.
    pub fn test_store() -> Option<StoreConfig> {
        let server = std::env::var(SERVER_ENV).ok().filter(|s| !s.is_empty())?;
        let schema = format!("t_{}", hex::encode(rand::random::<[u8; 8]>()));
        create_schema(&server, &schema);
        Some(StoreConfig {
            url: with_schema(&server, &schema),
            max_connections: 8,
        })
    }

    /// `server`'s URL with `schema` as the search path of every connection.
    pub fn with_schema(server: &str, schema: &str) -> String {
        let sep = if server.contains('?') { '&' } else { '?' };
        format!("{server}{sep}options=-csearch_path%3D{schema}")
    }

    /// Creates `schema` in the database at `server` (run on a thread of its own).
    pub fn create_schema(server: &str, schema: &str) {
        execute(server, &format!("CREATE SCHEMA {schema}"));
    }

    /// Runs `sql` (statements without results) on the database at `server`, on a thread
    /// of its own. Panics with what failed.
    pub fn execute(server: &str, sql: &str) {
        let (server, sql) = (server.to_owned(), sql.to_owned());
        crate::store::postgres::off_runtime(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&server, tokio_postgres::NoTls)
                    .await
                    .unwrap_or_else(|e| panic!("the test PostgreSQL server answers: {e:?}"));
                tokio::spawn(conn);
                client
                    .batch_execute(&sql)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
            });
        });
    }

    /// The path of one of PostgreSQL's programs (`pg_dump`, `pg_restore`).
    pub fn tool(name: &str) -> PathBuf {
        bin_dir().join(name)
    }

    fn bin_dir() -> PathBuf {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.path().join("bin"))
                    .collect()
            })
            .unwrap_or_default();
        found.retain(|p| p.join("initdb").exists());
        found.sort();
        found
            .pop()
            .expect("PostgreSQL is installed (scripts/install-deps.sh installs postgresql-15)")
    }

    fn is_root() -> bool {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
    }

    fn as_postgres(command: &mut Command) -> Command {
        if !is_root() {
            let mut same = Command::new(command.get_program());
            same.args(command.get_args());
            return same;
        }
        let mut wrapped = Command::new("runuser");
        wrapped
            .args(["-u", "postgres", "--"])
            .arg(command.get_program())
            .args(command.get_args());
        wrapped
    }

    fn run_as_postgres(command: &mut Command) {
        let out = as_postgres(command)
            .output()
            .expect("PostgreSQL's tools run");
        assert!(
            out.status.success(),
            "{:?} failed: {}{}",
            Path::new(command.get_program())
                .file_name()
                .unwrap_or_default(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port()
    }
}

/// Certificates for TLS tests, made with the `openssl` command: a certificate authority
/// of the test's own and a server certificate it signed.
pub mod certificates {
    use std::{
        path::{Path, PathBuf},
        process::Command,
    };

    /// The PEM files [`authority_and_server`] writes.
    pub struct Files {
        /// The authority's certificate (what a client trusts).
        pub ca: std::path::PathBuf,
        /// The server's certificate.
        pub cert: std::path::PathBuf,
        /// The server's private key.
        pub key: std::path::PathBuf,
    }

    /// Runs `openssl` in `dir`; panics with its error output if it fails.
    fn openssl(dir: &Path, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A DKIM key of a mail service, written by `openssl` into `dir` as `NAME.pem`
    /// (2048-bit RSA, PKCS #8), and the TXT record that publishes its public half
    /// (`v=DKIM1; k=rsa; p=…`, RFC 6376 3.6.1).
    pub fn dkim_key(dir: &Path, name: &str) -> (PathBuf, String) {
        use base64::Engine;
        let pem = format!("{name}.pem");
        openssl(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                &pem,
            ],
        );
        let der = format!("{name}.pub.der");
        openssl(
            dir,
            &[
                "pkey", "-pubout", "-outform", "DER", "-in", &pem, "-out", &der,
            ],
        );
        let public = std::fs::read(dir.join(&der)).expect("openssl wrote the public key");
        let record = format!(
            "v=DKIM1; k=rsa; p={}",
            base64::engine::general_purpose::STANDARD.encode(public)
        );
        (dir.join(pem), record)
    }

    /// Writes into `dir` an authority and a server certificate for `names` (DNS names,
    /// or IP addresses), valid for two days. Panics with what failed.
    pub fn authority_and_server(dir: &Path, names: &[&str]) -> Files {
        let run = |args: &[&str]| openssl(dir, args);
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        run(&[
            &["req", "-x509"][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.crt"],
            &["-days", "2", "-subj", "/CN=Sealpost test authority"],
        ]
        .concat());
        run(&[
            &["req"][..],
            &ec,
            &["-keyout", "server.key", "-out", "server.csr"],
            &["-subj", &format!("/CN={}", names[0])],
        ]
        .concat());
        let alt: Vec<String> = names
            .iter()
            .map(|n| match n.parse::<std::net::IpAddr>() {
                Ok(_) => format!("IP:{n}"),
                Err(_) => format!("DNS:{n}"),
            })
            .collect();
        std::fs::write(
            dir.join("server.ext"),
            format!("subjectAltName={}\n", alt.join(",")),
        )
        .unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ]);
        Files {
            ca: dir.join("ca.crt"),
            cert: dir.join("server.crt"),
            key: dir.join("server.key"),
        }
    }

    /// Writes into `dir` (which [`authority_and_server`] made) a client certificate for
    /// `name` (its subjectAltName `<name>.example.gov.uk`), signed by its authority:
    /// `(certificate, key)`.
    pub fn client(dir: &Path, name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let run = |args: &[&str]| openssl(dir, args);
        let (key, csr, cert) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
        );
        run(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &format!("/CN={name}"),
        ]);
        std::fs::write(
            dir.join("client.ext"),
            format!("extendedKeyUsage=clientAuth\nsubjectAltName=DNS:{name}.example.gov.uk\n"),
        )
        .unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &cert,
            "-days",
            "2",
            "-extfile",
            "client.ext",
        ]);
        (dir.join(cert), dir.join(key))
    }
}

/// A mail gateway's side of an SMTP session with the hub's listener, for tests and
/// benchmarks: commands out, replies in, STARTTLS with rustls.
pub mod gateway {
    use std::sync::Arc;

    use base64::Engine;
    use tokio::{
        io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader},
        net::TcpStream,
    };

    /// A connection, plain or TLS.
    pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
    impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

    /// Commands out, replies in.
    pub struct Client {
        io: BufReader<Box<dyn Io>>,
    }

    impl Client {
        /// Connects to 127.0.0.1:`port`; returns the session and its greeting.
        pub async fn connect(port: u16) -> (Self, String) {
            let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            let mut c = Client {
                io: BufReader::new(Box::new(tcp)),
            };
            let greeting = c.reply().await;
            (c, greeting)
        }

        /// One reply, all its lines joined.
        pub async fn reply(&mut self) -> String {
            let mut all = String::new();
            loop {
                let mut line = String::new();
                self.io.read_line(&mut line).await.unwrap();
                all.push_str(&line);
                if line.len() < 4 || line.as_bytes()[3] != b'-' {
                    return all;
                }
            }
        }

        /// Sends one command line; returns its reply.
        pub async fn send(&mut self, line: &str) -> String {
            self.io
                .get_mut()
                .write_all(format!("{line}\r\n").as_bytes())
                .await
                .unwrap();
            self.reply().await
        }

        /// STARTTLS, trusting the authority in the PEM file `ca`.
        pub async fn starttls(self, ca: &std::path::Path) -> Self {
            self.starttls_as(ca, None).await
        }

        /// STARTTLS presenting the client certificate and key `identity` (PEM files).
        pub async fn starttls_as(
            self,
            ca: &std::path::Path,
            identity: Option<(&std::path::Path, &std::path::Path)>,
        ) -> Self {
            let mut c = self;
            assert!(c.send("STARTTLS").await.starts_with("220"));
            let mut roots = rustls::RootCertStore::empty();
            use rustls_pki_types::pem::PemObject;
            for cert in rustls_pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
                roots.add(cert.unwrap()).unwrap();
            }
            #[allow(deprecated)]
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let builder = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots);
            let config = match identity {
                None => builder.with_no_client_auth(),
                Some((cert, key)) => builder
                    .with_client_auth_cert(
                        rustls_pki_types::CertificateDer::pem_file_iter(cert)
                            .unwrap()
                            .map(Result::unwrap)
                            .collect(),
                        rustls_pki_types::PrivateKeyDer::from_pem_file(key).unwrap(),
                    )
                    .unwrap(),
            };
            let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
            let plain = c.io.into_inner();
            let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
            let tls = connector.connect(name, plain).await.unwrap();
            Client {
                io: BufReader::new(Box::new(tls)),
            }
        }

        /// EHLO, STARTTLS, EHLO and AUTH PLAIN with `secret`: the AUTH reply.
        pub async fn signed_in(port: u16, ca: &std::path::Path, secret: &str) -> (Self, String) {
            let (mut c, _) = Client::connect(port).await;
            c.send("EHLO gateway.example.gov.uk").await;
            let mut c = c.starttls(ca).await;
            c.send("EHLO gateway.example.gov.uk").await;
            let plain =
                base64::engine::general_purpose::STANDARD.encode(format!("\0gateway\0{secret}"));
            let said = c.send(&format!("AUTH PLAIN {plain}")).await;
            (c, said)
        }

        /// Writes `bytes` as they are, reading nothing.
        pub async fn write_raw(&mut self, bytes: &[u8]) {
            self.io.get_mut().write_all(bytes).await.unwrap();
        }

        /// MAIL, RCPT each, DATA and the message: the final reply.
        pub async fn message(&mut self, from: &str, to: &[&str], message: &str) -> String {
            let said = self.send(&format!("MAIL FROM:<{from}>")).await;
            if !said.starts_with("250") {
                return said;
            }
            for rcpt in to {
                let said = self.send(&format!("RCPT TO:<{rcpt}>")).await;
                if !said.starts_with("250") {
                    return said;
                }
            }
            let said = self.send("DATA").await;
            assert!(said.starts_with("354"), "{said}");
            // Dot-stuffing (RFC 5321 4.5.2): a line starting with "." gets another.
            let mut body = String::new();
            for line in message.split("\r\n") {
                if line.starts_with('.') {
                    body.push('.');
                }
                body.push_str(line);
                body.push_str("\r\n");
            }
            body.push_str(".\r\n");
            self.io.get_mut().write_all(body.as_bytes()).await.unwrap();
            self.reply().await
        }
    }
}

/// A DNS server on loopback for tests and benchmarks: it answers TXT queries from a fixed
/// table (DKIM keys, DMARC policies), NXDOMAIN for any other name, over UDP, with
/// hickory's own message encoding. Stopped when dropped.
pub mod dns {
    use std::{
        collections::HashMap,
        net::{SocketAddr, UdpSocket},
        sync::{
            atomic::{AtomicBool, Ordering},
            Arc,
        },
        time::Duration,
    };

    use mail_auth::hickory_resolver::proto::{
        op::{Message, ResponseCode},
        rr::{rdata::TXT, RData, Record, RecordType},
    };

    /// The running server.
    pub struct Server {
        /// Where it listens (`127.0.0.1:PORT`), as `smtp_in.dns_servers` takes it.
        pub address: SocketAddr,
        stop: Arc<AtomicBool>,
    }

    impl Server {
        /// Serves `records`: (name, TXT text) pairs, names without the root's dot.
        pub fn start(records: &[(&str, &str)]) -> Self {
            let table: HashMap<String, String> = records
                .iter()
                .map(|(name, text)| {
                    (
                        format!("{}.", name.to_ascii_lowercase()),
                        (*text).to_owned(),
                    )
                })
                .collect();
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            socket
                .set_read_timeout(Some(Duration::from_millis(100)))
                .unwrap();
            let address = socket.local_addr().unwrap();
            let stop = Arc::new(AtomicBool::new(false));
            let stopping = stop.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while !stopping.load(Ordering::Relaxed) {
                    let Ok((n, from)) = socket.recv_from(&mut buf) else {
                        continue;
                    };
                    if let Some(answer) = answer(&table, &buf[..n]) {
                        let _ = socket.send_to(&answer, from);
                    }
                }
            });
            Server { address, stop }
        }
    }

    fn answer(table: &HashMap<String, String>, query: &[u8]) -> Option<Vec<u8>> {
        let query = Message::from_vec(query).ok()?;
        let question = query.queries.first()?.clone();
        let name = question.name().to_ascii().to_ascii_lowercase();
        let mut response = Message::response(query.metadata.id, query.metadata.op_code);
        response.metadata.recursion_desired = query.metadata.recursion_desired;
        response.metadata.recursion_available = true;
        response.metadata.authoritative = true;
        response.add_query(question.clone());
        match table.get(&name) {
            None => response.metadata.response_code = ResponseCode::NXDomain,
            Some(text) if question.query_type() == RecordType::TXT => {
                // A TXT record is strings of at most 255 bytes (RFC 1035 3.3.14).
                let strings = text
                    .as_bytes()
                    .chunks(255)
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect();
                response.add_answer(Record::from_rdata(
                    question.name().clone(),
                    300,
                    RData::TXT(TXT::new(strings)),
                ));
            }
            // The name exists, with no record of the type asked for.
            Some(_) => {}
        }
        response.to_vec().ok()
    }

    impl Drop for Server {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
        }
    }
}

/// A real mail gateway for tests: Debian's Postfix, run from a configuration of the
/// test's own on loopback (as root: `postfix -c DIR start`), relaying secure mail to the
/// hub's SMTP listener over TLS with a client certificate. Anything else, which a real
/// gateway would send on to the internet, it drops (`default_transport = discard`):
/// nothing leaves the machine.
pub mod postfix {
    use std::{
        path::{Path, PathBuf},
        process::Command,
    };

    use tempfile::TempDir;

    /// A running Postfix, stopped when dropped.
    pub struct Postfix {
        dir: TempDir,
        /// The loopback port its smtpd listens on.
        pub port: u16,
    }

    fn postfix(config: &Path, args: &[&str]) -> std::process::Output {
        Command::new("postfix")
            .arg("-c")
            .arg(config)
            .args(args)
            .output()
            .expect("postfix runs (scripts/install-deps.sh installs it)")
    }

    impl Postfix {
        /// Starts Postfix relaying mail for `routing_domain` (and its subdomains) and mail
        /// whose subject carries `[secure]` to 127.0.0.1:`hub_port`, over TLS, presenting
        /// the client certificate `cert` with its `key`.
        pub fn start(hub_port: u16, routing_domain: &str, cert: &Path, key: &Path) -> Self {
            let dir = tempfile::Builder::new()
                .prefix("sealpost-postfix-")
                .tempdir()
                .expect("a temporary folder");
            let root = dir.path();
            let (etc, queue, data) = (root.join("etc"), root.join("queue"), root.join("data"));
            for d in [&etc, &queue, &data] {
                std::fs::create_dir(d).unwrap();
            }
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
            let chown = Command::new("chown")
                .arg("postfix:postfix")
                .arg(&data)
                .status()
                .unwrap();
            assert!(chown.success(), "the data folder is given to postfix");
            // The package's own master.cf, as shipped (Debian keeps it here).
            std::fs::copy("/usr/share/postfix/master.cf.dist", etc.join("master.cf")).unwrap();
            let port = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                l.local_addr().unwrap().port()
            };
            let hub = format!("smtp:[127.0.0.1]:{hub_port}");
            std::fs::write(
                etc.join("transport"),
                format!("{routing_domain} {hub}\n.{routing_domain} {hub}\n"),
            )
            .unwrap();
            std::fs::write(
                etc.join("header_checks"),
                format!("/^Subject:.*\\[secure\\]/ FILTER {hub}\n"),
            )
            .unwrap();
            let d = root.display();
            std::fs::write(
                etc.join("main.cf"),
                format!(
                    "compatibility_level = 3.6\n\
                     queue_directory = {d}/queue\n\
                     data_directory = {d}/data\n\
                     mail_owner = postfix\n\
                     setgid_group = postdrop\n\
                     myhostname = gateway.example.gov.uk\n\
                     mydestination =\n\
                     inet_interfaces = 127.0.0.1\n\
                     inet_protocols = ipv4\n\
                     mynetworks = 127.0.0.0/8\n\
                     smtpd_relay_restrictions = permit_mynetworks, reject\n\
                     maillog_file = {d}/maillog\n\
                     maillog_file_prefixes = {d}\n\
                     transport_maps = texthash:{d}/etc/transport\n\
                     header_checks = regexp:{d}/etc/header_checks\n\
                     default_transport = discard:only the hub is reachable here\n\
                     relay_transport = discard:only the hub is reachable here\n\
                     smtp_tls_security_level = encrypt\n\
                     smtp_tls_cert_file = {cert}\n\
                     smtp_tls_key_file = {key}\n\
                     minimal_backoff_time = 1s\n\
                     maximal_backoff_time = 2s\n\
                     queue_run_delay = 1s\n",
                    cert = cert.display(),
                    key = key.display(),
                ),
            )
            .unwrap();
            let edit = |args: &[&str]| {
                let out = Command::new("postconf")
                    .arg("-c")
                    .arg(&etc)
                    .args(args)
                    .output()
                    .unwrap();
                assert!(out.status.success(), "postconf {args:?}: {out:?}");
            };
            // No chroot (it would need copies of /etc in the queue), and smtpd on a free
            // loopback port in place of port 25.
            edit(&["-F", "*/*/chroot = n"]);
            edit(&["-MX", "smtp/inet"]);
            edit(&["-M", &format!("{port}/inet={port} inet n - n - - smtpd")]);
            let started = postfix(&etc, &["start"]);
            let me = Self { dir, port };
            assert!(started.status.success(), "postfix start: {}", me.log());
            me
        }

        fn etc(&self) -> PathBuf {
            self.dir.path().join("etc")
        }

        /// Tries every deferred message again now.
        pub fn flush(&self) {
            postfix(&self.etc(), &["flush"]);
        }

        /// Its log so far.
        pub fn log(&self) -> String {
            std::fs::read_to_string(self.dir.path().join("maillog")).unwrap_or_default()
        }
    }

    impl Drop for Postfix {
        fn drop(&mut self) {
            postfix(&self.etc(), &["stop"]);
        }
    }
}

/// S3 for tests: Garage, started for a whole run by `scripts/with-garage.sh`.
///
/// When `SEALPOST_TEST_S3` names it (`ENDPOINT BUCKET REGION KEY_ID SECRET`), every
/// [`TestServer`] keeps its encrypted files in that bucket, under a prefix of its own.
pub mod garage {
    use crate::blobs::BucketConfig;

    /// The variable naming the test S3 store.
    pub const SERVER_ENV: &str = "SEALPOST_TEST_S3";

    /// The bucket configuration for a new test hub, or `None` (the `blobs/` folder).
    pub fn test_blobs() -> Option<BucketConfig> {
        let server = std::env::var(SERVER_ENV).ok().filter(|s| !s.is_empty())?;
        Some(bucket(
            &server,
            &format!("t_{}", hex::encode(rand::random::<[u8; 8]>())),
        ))
    }

    /// The bucket named by `server` (as in `SEALPOST_TEST_S3`), under `prefix`.
    pub fn bucket(server: &str, prefix: &str) -> BucketConfig {
        let parts: Vec<&str> = server.split_whitespace().collect();
        let [endpoint, bucket, region, key_id, secret] = parts[..] else {
            panic!("{SERVER_ENV} is ENDPOINT BUCKET REGION KEY_ID SECRET: {server:?}");
        };
        BucketConfig {
            url: format!("s3://{bucket}/{prefix}"),
            endpoint: Some(endpoint.to_owned()),
            region: region.to_owned(),
            access_key_id: Some(key_id.to_owned()),
            secret_access_key: Some(secret.to_owned()),
            path_style: None,
        }
    }
}
