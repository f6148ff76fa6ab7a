//! `tongban`: the one binary. Serves the platform and runs its maintenance commands.

mod config;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tongban_app::sms::{DevSink, HttpGateway, SmsGateway};
use tongban_app::vault::Vault;
use tongban_app::{
    App, AuditVerdict, AuthPolicy, DEMO_PASSWORD, Identity, SearchIndex, Store, demo_dataset,
    read_dataset_dir, write_dataset_dir,
};
use tongban_domain::SystemClock;

use crate::config::{Overrides, Settings};

/// Request threads allocate and free a great deal, often each other's memory (a task moves
/// between threads); the C library's allocator makes them queue for its arenas there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "tongban",
    version,
    about = "Tongban (通办): one-stop county government services"
)]
struct Cli {
    /// Configuration file (default: ./tongban.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB.
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Folder for the SQLite database, uploads and the search index.
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the server (migrates the database first).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Load the Qinghe County demo data when the database is empty.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Import master data from a folder (divisions.csv, departments.csv, catalog.json, faq.json,
    /// calendar/*.toml). Nothing is imported if any row is invalid.
    Import { dir: PathBuf },
    /// Write the master data to a folder in the format `import` reads.
    Export { dir: PathBuf },
    /// Rebuild the search index from the database.
    Reindex,
    /// Work with the tamper-evident audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage staff accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manage the keys that encrypt personal data.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage the API keys of Open311 clients.
    #[command(subcommand)]
    Apikey(ApikeyCommand),
    /// Measure routing on labelled requests (columns of requests.csv: id, kind, text,
    /// township_code, village_code, department, urgency): each row is predicted from what the
    /// system already knows, without learning from the file. Prints {"top1", "top3", "n"}.
    RouteEval { file: PathBuf },
}

#[derive(Debug, Subcommand)]
enum ApikeyCommand {
    /// Issue a key for a client; the key is the last line printed (shown once, stored hashed).
    Create {
        #[arg(long)]
        name: String,
    },
    /// Revoke a client's keys, by the client's name or by the key itself.
    Revoke {
        /// The client's name or a key.
        #[arg(long)]
        name: Option<String>,
        /// A key (as an alternative to --name).
        key: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Print a new random data key in the `ID:BASE64` form `data_keys` takes.
    New {
        /// The key's id (1-255); it must differ from the ids already configured.
        #[arg(long, default_value_t = 1)]
        id: u8,
    },
    /// Rotate the data key: with keys in DATA_DIR/keys.toml, add a new key in front (the old
    /// ones stay to decrypt); with `data_keys` configured, the first configured key is the
    /// new one. Then re-encrypt every stored phone number, ID number and authenticator secret
    /// under it, after which the old keys may be removed.
    Rotate,
    /// Re-encrypt every stored personal number still under an older key with the current
    /// (first) key, without adding a key.
    Reencrypt,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a staff account. The password is read from standard input with
    /// --password-stdin; otherwise a strong one is generated and printed once.
    CreateUser {
        #[arg(long)]
        username: String,
        /// The person's name as shown to colleagues.
        #[arg(long)]
        name: String,
        /// Their unit's code, e.g. 130534-SPJ or 130534100000.
        #[arg(long)]
        unit: String,
        /// A role: window_clerk, department_handler, department_head, dispatcher,
        /// supervisor, administrator. Repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check every entry's hash against its content and the entry before it; names the first
    /// broken entry and exits with status 1 if the chain is broken.
    Verify,
}

fn init_logging(settings: &Settings) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(&settings.log).unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if settings.json_logs {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// The keys file written on first start when no keys are configured.
#[derive(serde::Serialize, serde::Deserialize)]
struct KeyFile {
    data_keys: Vec<String>,
    index_key: String,
}

fn key_file_path(settings: &Settings) -> std::path::PathBuf {
    settings.data_dir.join("keys.toml")
}

fn read_key_file(path: &std::path::Path) -> anyhow::Result<KeyFile> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{} is not a key file", path.display()))
}

/// The vault from configured keys, or from `DATA_DIR/keys.toml`, created on first start.
fn vault(settings: &Settings) -> anyhow::Result<Vault> {
    if !settings.data_keys.is_empty() {
        return Ok(Vault::new(&settings.data_keys, &settings.index_key)?);
    }
    let path = key_file_path(settings);
    if path.exists() {
        let keys = read_key_file(&path)?;
        return Ok(Vault::new(&keys.data_keys, &keys.index_key)?);
    }
    let (vault, data_keys, index_key) = Vault::generate();
    write_key_file(
        &path,
        &KeyFile {
            data_keys,
            index_key,
        },
    )?;
    tracing::warn!(path = %path.display(), "created encryption keys for personal data; back this file up, it cannot be recreated");
    Ok(vault)
}

/// Puts a new data key in front of those in the keys file; returns its id.
fn add_key_to_file(path: &std::path::Path) -> anyhow::Result<u8> {
    let mut keys = read_key_file(path)?;
    let highest = keys
        .data_keys
        .iter()
        .filter_map(|k| k.split_once(':')?.0.trim().parse::<u8>().ok())
        .max()
        .unwrap_or(0);
    let id = highest
        .checked_add(1)
        .context("key ids are exhausted (255); remove retired keys from the keys file first")?;
    keys.data_keys
        .insert(0, tongban_app::vault::new_key_spec(id));
    // Prove the new set opens before it replaces the old one.
    Vault::new(&keys.data_keys, &keys.index_key)?;
    write_key_file(path, &keys)?;
    Ok(id)
}

/// Writes the keys file readable by its owner only, replacing any old one atomically so a crash
/// never leaves a half-written key file.
fn write_key_file(path: &std::path::Path, keys: &KeyFile) -> anyhow::Result<()> {
    let text = toml::to_string(keys)?;
    let tmp = path.with_extension("toml.new");
    let _ = std::fs::remove_file(&tmp);
    write_private(&tmp, &text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

fn identity(settings: &Settings, demo: bool) -> anyhow::Result<Identity> {
    let sms: Arc<dyn SmsGateway> = if settings.sms_gateway_url.is_empty() {
        if !demo {
            tracing::warn!("no sms_gateway_url configured: sign-in codes go to the log only");
        }
        Arc::new(DevSink::default())
    } else {
        Arc::new(HttpGateway::new(
            &settings.sms_gateway_url,
            &settings.sms_gateway_token,
        )?)
    };
    let policy = AuthPolicy {
        totp_roles: settings.totp_roles.clone().unwrap_or_else(|| {
            if demo {
                Vec::new()
            } else {
                AuthPolicy::default().totp_roles
            }
        }),
        sessions: settings.sessions,
        dev_outbox: demo && settings.sms_gateway_url.is_empty(),
        secure_cookies: settings.secure_cookies,
    };
    Ok(Identity {
        vault: vault(settings)?,
        sms,
        policy,
    })
}

async fn open(settings: &Settings) -> anyhow::Result<App> {
    open_with(settings, false).await
}

async fn open_with(settings: &Settings, demo: bool) -> anyhow::Result<App> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create data folder {}", settings.data_dir.display()))?;
    let store = Store::connect(&settings.database_url, settings.max_connections).await?;
    store.migrate().await?;
    let index = SearchIndex::open_in_dir(&settings.index_dir())?;
    let blobs: Arc<dyn object_store::ObjectStore> = match &settings.s3 {
        Some(s3) => tongban_app::blobs::s3_store(s3).map_err(anyhow::Error::msg)?,
        None => {
            let files = settings.data_dir.join("files");
            std::fs::create_dir_all(&files)
                .with_context(|| format!("cannot create the files folder {}", files.display()))?;
            Arc::new(
                object_store::local::LocalFileSystem::new_with_prefix(&files).with_context(
                    || format!("cannot use {} for uploaded files", files.display()),
                )?,
            )
        }
    };
    let app = App::new(
        store,
        Arc::new(index),
        settings.tenant.clone(),
        Arc::new(SystemClock),
    )
    .with_identity(identity(settings, demo)?)
    .with_blobs(blobs)
    .with_request_policy(settings.request_policy.clone());
    let app = match &settings.webhook {
        Some(hook) => app.with_webhook(hook.clone()),
        None => app,
    };
    Ok(match &settings.mailer {
        Some(mailer) => app.with_mailer(mailer.clone()),
        None => app,
    })
}

/// `tongban route-eval`: top-1 and top-3 accuracy of routing on a labelled file.
async fn route_eval(settings: &Settings, file: &std::path::Path) -> anyhow::Result<()> {
    let app = open(settings).await?;
    if app.catalog().await?.units.is_empty() {
        // Nothing known yet: learn what a demo county knows (its units and past dispatches).
        eprintln!("the database holds no units: loading the Qinghe demo data first");
        app.import(&tongban_app::demo_dataset()).await?;
        app.learn_routing(&tongban_app::demo_routing_history())
            .await?;
    }
    let mut reader =
        csv::Reader::from_path(file).with_context(|| format!("cannot read {}", file.display()))?;
    let headers = reader.headers()?.clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| anyhow::anyhow!("{} has no `{name}` column", file.display()))
    };
    let (text, township, village, department) = (
        column("text")?,
        column("township_code")?,
        column("village_code").ok(),
        column("department")?,
    );
    let (mut n, mut top1, mut top3) = (0u64, 0u64, 0u64);
    for row in reader.records() {
        let row = row?;
        let get = |i: usize| row.get(i).unwrap_or_default().trim().to_owned();
        let mut place = Some(get(township)).filter(|t| !t.is_empty());
        if place.is_none()
            && let Some(v) = village.map(get).filter(|v| v.len() == 12)
        {
            place = Some(format!("{}000", &v[..9]));
        }
        let suggestions = app.suggest_units(&get(text), place.as_deref(), 3).await?;
        let truth = get(department);
        n += 1;
        if suggestions.first().is_some_and(|s| s.unit == truth) {
            top1 += 1;
        }
        if suggestions.iter().any(|s| s.unit == truth) {
            top3 += 1;
        }
    }
    let ratio = |k: u64| if n == 0 { 0.0 } else { k as f64 / n as f64 };
    println!(
        "{}",
        serde_json::json!({ "top1": ratio(top1), "top3": ratio(top3), "n": n })
    );
    Ok(())
}

/// Listens for SIGTERM and SIGINT from the moment it is called, so a signal that arrives
/// right after start-up still shuts down gracefully.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        tracing::info!("shutting down: finishing requests in flight");
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down: finishing requests in flight");
    })
}

async fn serve(settings: Settings, demo: bool) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let app = open_with(&settings, demo).await?;
    if demo && app.store.catalog_is_empty(&app.tenant).await? {
        let counts = app.import(&demo_dataset()).await?;
        tracing::info!(?counts, "loaded the Qinghe demo data");
    } else {
        let docs = app.reindex().await?;
        tracing::info!(documents = docs, "search index rebuilt");
    }
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let shutdown = shutdown_signal()?;
    tracing::info!(%addr, backend = app.store.backend().as_str(), ready_ms = started.elapsed().as_millis() as u64, "ready");
    let accounts = if demo {
        let accounts = app.create_demo_accounts().await?;
        let seeded = app.create_demo_history().await?;
        app.learn_routing(&tongban_app::demo_routing_history())
            .await?;
        if seeded > 0 {
            tracing::info!(cases = seeded, "demo history written");
        }
        accounts
    } else {
        Vec::new()
    };
    // The first line on stdout is the address, for people and for scripts that start us. A
    // script may stop reading after it, so later lines must not fail on a closed pipe.
    println!("Tongban is listening on http://{addr}/");
    if demo {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "Demo accounts (staff password: {DEMO_PASSWORD}; residents sign in with an SMS code shown at http://{addr}/dev/sms):"
        );
        for a in accounts {
            let _ = writeln!(
                out,
                "  {:<20} {:<14} {} {}",
                a.role, a.sign_in, a.name, a.unit
            );
        }
        let _ = out.flush();
    }
    let background = Background::start(app.clone())?;
    let router = tongban_web::router(app.clone());
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    background.stop();
    app.store.close().await;
    Ok(())
}

/// The relay and the sweeps, on a thread of their own: their database work runs on the
/// thread that asks for it (SQLite in the process), and on the threads that serve pages a
/// long sweep would hold up the requests queued behind it.
struct Background {
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Background {
    fn start(app: App) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("background".into())
            .spawn(move || {
                runtime.block_on(async move {
                    // A relay pass cut short is safe: undelivered rows stay due for the next
                    // start.
                    tokio::select! {
                        () = relay_notifications(app.clone()) => {}
                        () = sweep_deadlines(app) => {}
                        _ = stopped => {}
                    }
                });
            })?;
        Ok(Self { stop, thread })
    }

    fn stop(self) {
        let _ = self.stop.send(());
        if self.thread.join().is_err() {
            tracing::error!("the background thread panicked");
        }
    }
}

/// Applies the rules that act on their own as time passes (an intake nobody answered counts
/// as accepted), every few minutes.
async fn sweep_deadlines(app: App) {
    const EVERY: std::time::Duration = std::time::Duration::from_secs(300);
    loop {
        match app.deem_overdue_intakes().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(cases = n, "deemed accepted: intake not answered in time"),
            Err(e) => tracing::error!(error = %e, "deadline sweep"),
        }
        tokio::time::sleep(EVERY).await;
    }
}

/// Delivers notifications from the outbox for as long as the server runs: a full batch is
/// followed at once by the next; otherwise it looks again after a short pause.
async fn relay_notifications(app: App) {
    const BATCH: i64 = 100;
    const PAUSE: std::time::Duration = std::time::Duration::from_secs(2);
    loop {
        let busy = match app.relay_outbox(BATCH).await {
            Ok(r) => r.delivered + r.retrying + r.dead == BATCH as u64,
            Err(e) => {
                tracing::error!(error = %e, "notification relay");
                false
            }
        };
        if !busy {
            tokio::time::sleep(PAUSE).await;
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let listen = match &cli.command {
        Command::Serve { listen, .. } => listen.clone(),
        _ => None,
    };
    let settings = config::load(
        cli.config.as_deref(),
        Overrides {
            listen,
            data_dir: cli.data_dir.clone(),
            database_url: cli.database_url.clone(),
        },
    )
    .map_err(anyhow::Error::msg)?;
    init_logging(&settings);
    match cli.command {
        Command::Serve { demo, .. } => serve(settings, demo).await,
        Command::Migrate => {
            open(&settings).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Import { dir } => {
            let app = open(&settings).await?;
            let dataset = read_dataset_dir(&dir)?;
            let counts = app.import(&dataset).await?;
            println!(
                "imported {} divisions, {} units, {} items, {} FAQ entries, {} calendar years",
                counts.divisions, counts.units, counts.items, counts.faqs, counts.calendars
            );
            Ok(())
        }
        Command::Export { dir } => {
            let app = open(&settings).await?;
            let written = write_dataset_dir(&app.export().await?, &dir)?;
            println!("wrote {} to {}", written.join(", "), dir.display());
            Ok(())
        }
        Command::Reindex => {
            let app = open(&settings).await?;
            let docs = app.reindex().await?;
            println!("search index rebuilt: {docs} documents");
            Ok(())
        }
        Command::Audit(AuditCommand::Verify) => {
            let app = open(&settings).await?;
            match app.verify_audit().await? {
                AuditVerdict::Intact { entries } => {
                    println!("audit chain intact: {entries} entries");
                    Ok(())
                }
                AuditVerdict::Broken(at) => anyhow::bail!("audit chain broken at {at}"),
            }
        }
        Command::Keys(KeysCommand::New { id }) => {
            anyhow::ensure!(id >= 1, "--id must be 1-255");
            println!("{}", tongban_app::vault::new_key_spec(id));
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate) => {
            if settings.data_keys.is_empty() {
                let path = key_file_path(&settings);
                anyhow::ensure!(
                    path.exists(),
                    "no keys to rotate: {} does not exist and data_keys is not configured",
                    path.display()
                );
                let id = add_key_to_file(&path)?;
                println!("added data key {id} to {}", path.display());
            } else {
                println!(
                    "data_keys is configured: re-encrypting under its first key (put a new key \
                     from `tongban keys new --id N` first to rotate)"
                );
            }
            reencrypt(&settings).await
        }
        Command::Keys(KeysCommand::Reencrypt) => reencrypt(&settings).await,
        Command::Apikey(ApikeyCommand::Create { name }) => {
            let app = open(&settings).await?;
            let created = app.create_api_key(&name).await?;
            println!("created API key {} for {}", created.id, created.name);
            println!("{}", created.key);
            Ok(())
        }
        Command::Apikey(ApikeyCommand::Revoke { name, key }) => {
            let which = name
                .or(key)
                .ok_or_else(|| anyhow::anyhow!("give the client's --name or the key"))?;
            let app = open(&settings).await?;
            let n = app.revoke_api_key(&which).await?;
            anyhow::ensure!(n > 0, "no live API key matches {which}");
            println!("revoked {n} API key(s)");
            Ok(())
        }
        Command::RouteEval { file } => route_eval(&settings, &file).await,
        Command::Admin(AdminCommand::CreateUser {
            username,
            name,
            unit,
            roles,
            password_stdin,
        }) => {
            let app = open(&settings).await?;
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                (line.trim_end_matches(['\r', '\n']).to_owned(), false)
            } else {
                (
                    format!("Tb-{}", &tongban_app::vault::random_token()[..16]),
                    true,
                )
            };
            let operator = tongban_domain::Actor {
                user_id: "system".into(),
                roles: vec![tongban_domain::Role::Administrator],
                unit: None,
                division: None,
                family: Vec::new(),
            };
            let new = tongban_app::people::NewStaff {
                username: username.clone(),
                name,
                unit,
                roles,
                password: password.clone(),
            };
            match app.create_staff(&operator, &new).await {
                Ok(id) => {
                    println!("created staff account {username} ({id})");
                    if generated {
                        println!("initial password (shown once): {password}");
                    }
                    Ok(())
                }
                Err(tongban_app::AppError::Refused(r)) => {
                    let field = r.field.unwrap_or("input");
                    anyhow::bail!("{field}: {} ({})", refusal_text(&r), r.code)
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

async fn reencrypt(settings: &Settings) -> anyhow::Result<()> {
    let app = open(settings).await?;
    let r = app.reencrypt_personal_data().await?;
    println!(
        "re-encrypted under key {}: {} users checked, {} rewritten",
        r.key_id, r.users_checked, r.users_rewritten
    );
    if r.users_left > 0 {
        anyhow::bail!(
            "{} users changed during the run and still use an older key; run `tongban keys reencrypt`",
            r.users_left
        );
    }
    println!("no personal data uses an older key any more; older keys may now be removed");
    Ok(())
}

/// The English message for a refusal on the command line.
fn refusal_text(r: &tongban_app::Refusal) -> String {
    tongban_web::i18n::Tr(tongban_web::i18n::Lang::En).ta(&format!("err-{}", r.code), &r.args)
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
