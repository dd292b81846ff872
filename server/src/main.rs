//! `hookline`: serve | worker | migrate | api-key create.
use clap::{Parser, Subcommand};
use server::config::Settings;
use server::startup;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "hookline",
    version,
    about = "Self-hosted webhook delivery: Svix-compatible API, signed deliveries, retries, portal."
)]
struct Cli {
    /// TOML configuration file (default: ./hookline.toml when present). Env vars override it.
    #[arg(long, global = true, env = "HOOKLINE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// API, portal and delivery workers in one process (the default).
    Serve,
    /// Delivery workers only; run as many as you like against one database.
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage API keys.
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyAction,
    },
    /// Manage portal users.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Print a one-time link (valid for an hour) that lets the user set a new password.
    ResetPassword {
        /// The user's email.
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum ApiKeyAction {
    /// Print a new API key for an organisation (created if needed) on stdout.
    Create {
        /// Organisation name.
        #[arg(long)]
        org: String,
        /// A name for the key, shown in the portal.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Limit the key to this application of the organisation (its id or uid).
        #[arg(long)]
        app: Option<String>,
        /// A key that may only read (GET): every change answers 403.
        #[arg(long)]
        read_only: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hookline: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = server::telemetry::init(settings.json_logs) {
        eprintln!("hookline: {e}");
        return ExitCode::from(2);
    }
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => startup::serve(settings).await,
        Command::Worker => startup::worker(settings).await,
        Command::Migrate => startup::migrate_only(settings).await,
        Command::ApiKey {
            action:
                ApiKeyAction::Create {
                    org,
                    name,
                    app,
                    read_only,
                },
        } => {
            let scope = domain::service::audit::KeyScope {
                app_id: app,
                read_only,
            };
            startup::create_api_key(settings, &org, &name, scope).await
        }
        Command::User {
            action: UserAction::ResetPassword { email },
        } => startup::reset_password_link(settings, &email).await,
    };
    server::telemetry::shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hookline: {e:#}");
            ExitCode::FAILURE
        }
    }
}
