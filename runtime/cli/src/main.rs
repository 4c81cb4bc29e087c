//! `assent`: run the server; build, inspect and try plugins.

mod config_cmd;
mod plugin_cmd;
mod serve_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "assent",
    version,
    about = "Just-in-time access approvals, with your rules as code"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build, inspect and call plugins.
    #[command(subcommand)]
    Plugin(plugin_cmd::PluginCommand),
    /// Run the server (on a local SQLite file with the example flows, unless told otherwise).
    Serve(Box<serve_cmd::ServeArgs>),
    /// Show what `apply` would change on the server: the configuration file's environments,
    /// flows and flows filter against what is stored (its plugins are built and uploaded).
    Plan(config_cmd::ConfigArgs),
    /// Make the server hold what the configuration file declares, all at once.
    Apply(config_cmd::ConfigArgs),
    /// Write an `assent.toml` from the `sym_*` resources of a Sym Terraform directory,
    /// listing what it could not carry over.
    ImportTerraform(config_cmd::ImportArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ASSENT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,assent_server=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: could not start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Plugin(command) => plugin_cmd::run(command).await,
            Command::Serve(args) => serve_cmd::run(*args).await,
            Command::Plan(args) => config_cmd::run(args, false).await,
            Command::Apply(args) => config_cmd::run(args, true).await,
            Command::ImportTerraform(args) => config_cmd::import_terraform(&args),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
