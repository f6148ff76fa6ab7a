//! `tongban`: the one binary. Serves the platform and runs its maintenance commands.

mod config;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tongban_app::{
    App, AuditVerdict, SearchIndex, Store, demo_dataset, read_dataset_dir, write_dataset_dir,
};
use tongban_domain::SystemClock;

use crate::config::{Overrides, Settings};

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

async fn open(settings: &Settings) -> anyhow::Result<App> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create data folder {}", settings.data_dir.display()))?;
    let store = Store::connect(&settings.database_url, settings.max_connections).await?;
    store.migrate().await?;
    let index = SearchIndex::open_in_dir(&settings.index_dir())?;
    Ok(App::new(
        store,
        Arc::new(index),
        settings.tenant.clone(),
        Arc::new(SystemClock),
    ))
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
    let app = open(&settings).await?;
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
    // The first line on stdout is the address, for people and for scripts that start us.
    println!("Tongban is listening on http://{addr}/");
    let router = tongban_web::router(app.clone());
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await?;
    app.store.close().await;
    Ok(())
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
    }
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
