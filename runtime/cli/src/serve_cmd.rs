//! `assent serve`: the server, on a local SQLite file by default, with the example flows.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use assent_plugin_build::{BuildError, BuildOptions, Progress, build_rust};
use assent_server::examples::{self, DEMO_ORG};
use assent_server::{
    CacheBudget, HostList, Keyring, OutboundPolicy, Server, ServerConfig, SlackConfig, WorkerConfig,
};
use clap::Args;

#[derive(Args)]
pub struct ServeArgs {
    /// Where to listen.
    #[arg(long, env = "ASSENT_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// `sqlite://FILE` or `postgres://USER@HOST/DB`; by default a SQLite file in the data dir.
    #[arg(long, env = "ASSENT_DATABASE_URL")]
    database: Option<String>,
    /// Local state: the SQLite file, compiled plugins, the demo users' tokens.
    #[arg(long, env = "ASSENT_DATA_DIR", default_value = ".assent")]
    data_dir: PathBuf,
    /// Enables the operator endpoints (creating organisations) for this token.
    #[arg(long, env = "ASSENT_OPERATOR_TOKEN", hide_env_values = true)]
    operator_token: Option<String>,
    /// Example flows to load into the `demo` organisation at start.
    #[arg(long, default_value = "examples/flows")]
    examples: PathBuf,
    /// Start without the demo organisation and example flows.
    #[arg(long)]
    no_examples: bool,
    /// The longest the timer worker waits between looks, in milliseconds.
    #[arg(long, default_value_t = 500)]
    timer_poll_ms: u64,
    /// MiB of compiled plugins kept loaded in memory; the least recently used are dropped
    /// first and load again from disk when next used.
    #[arg(long, env = "ASSENT_PLUGIN_MEMORY_MIB", default_value_t = CacheBudget::default().memory_bytes >> 20)]
    plugin_memory_mib: u64,
    /// MiB of compiled plugins kept in `DATA_DIR/compiled`; the least recently used are
    /// removed first and compiled again when next used.
    #[arg(long, env = "ASSENT_PLUGIN_DISK_MIB", default_value_t = CacheBudget::default().disk_bytes >> 20)]
    plugin_disk_mib: u64,
    /// 64 hex digits sealing secrets and Slack bot tokens at rest (`openssl rand -hex 32`).
    /// Without one, a key is made once and kept in `DATA_DIR/secrets.key`. Keep it: with
    /// another key, stored secrets cannot be read.
    #[arg(long, env = "ASSENT_SECRETS_KEY", hide_env_values = true)]
    secrets_key: Option<String>,
    /// The key being rotated away from: what it sealed is sealed again under
    /// `--secrets-key` at start, after which it can be dropped.
    #[arg(long, env = "ASSENT_PREVIOUS_SECRETS_KEY", hide_env_values = true)]
    previous_secrets_key: Option<String>,
    /// Hosts integrations may call over plain http (comma-separated, `host` or `host:port`);
    /// every other host must be https.
    #[arg(long, env = "ASSENT_OUTBOUND_ALLOW_HTTP", default_value = "")]
    outbound_allow_http: String,
    /// Hosts integrations may call although they resolve to loopback, private or link-local
    /// addresses (an internal service); every other host must resolve to public addresses.
    #[arg(long, env = "ASSENT_OUTBOUND_ALLOW_PRIVATE", default_value = "")]
    outbound_allow_private: String,
    #[command(flatten)]
    slack: SlackArgs,
}

/// The Slack app (all of `--slack-signing-secret`, `--slack-client-id` and
/// `--slack-client-secret` turn it on).
#[derive(Args)]
pub struct SlackArgs {
    /// The Slack app's signing secret (Basic Information → App Credentials).
    #[arg(long, env = "ASSENT_SLACK_SIGNING_SECRET", hide_env_values = true)]
    slack_signing_secret: Option<String>,
    /// The Slack app's client id.
    #[arg(long, env = "ASSENT_SLACK_CLIENT_ID")]
    slack_client_id: Option<String>,
    /// The Slack app's client secret.
    #[arg(long, env = "ASSENT_SLACK_CLIENT_SECRET", hide_env_values = true)]
    slack_client_secret: Option<String>,
    /// This server's public URL, as Slack reaches it (for the OAuth redirect).
    #[arg(long, env = "ASSENT_PUBLIC_URL")]
    public_url: Option<String>,
    /// The Slack Web API base URL.
    #[arg(
        long,
        env = "ASSENT_SLACK_API_URL",
        default_value = "https://slack.com/api"
    )]
    slack_api_url: String,
    /// The slash command's name, as configured in the Slack app.
    #[arg(long, env = "ASSENT_SLACK_COMMAND", default_value = SlackConfig::DEFAULT_COMMAND)]
    slack_command: String,
}

impl SlackArgs {
    fn config(&self, listen: SocketAddr) -> anyhow::Result<Option<SlackConfig>> {
        let (Some(signing_secret), Some(client_id), Some(client_secret)) = (
            &self.slack_signing_secret,
            &self.slack_client_id,
            &self.slack_client_secret,
        ) else {
            if self.slack_signing_secret.is_some() {
                bail!(
                    "the Slack app needs --slack-client-id and --slack-client-secret as well as --slack-signing-secret"
                );
            }
            return Ok(None);
        };
        Ok(Some(SlackConfig {
            signing_secret: signing_secret.clone(),
            client_id: client_id.clone(),
            client_secret: client_secret.clone(),
            api_url: self.slack_api_url.clone(),
            authorize_url: SlackConfig::DEFAULT_AUTHORIZE_URL.to_owned(),
            public_url: self
                .public_url
                .clone()
                .unwrap_or_else(|| format!("http://{listen}")),
            command: self.slack_command.clone(),
        }))
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("could not create `{}`", args.data_dir.display()))?;
    let database = args
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", args.data_dir.join("assent.db").display()));
    let examples = if args.no_examples {
        Vec::new()
    } else if args.examples.is_dir() {
        examples::read_examples(&args.examples)?
    } else {
        eprintln!(
            "note: no example flows at `{}`; starting without the demo organisation",
            args.examples.display()
        );
        Vec::new()
    };
    let slack = args.slack.config(args.listen)?;
    let secrets = keyring(&args)?;
    let plugins = build_example_plugins(&examples, &args.data_dir).await?;

    let server = Server::start(ServerConfig {
        listen: args.listen,
        database_url: database.clone(),
        cache_dir: Some(args.data_dir.join("compiled")),
        plugin_cache: CacheBudget {
            memory_bytes: args.plugin_memory_mib.saturating_mul(1 << 20),
            disk_bytes: args.plugin_disk_mib.saturating_mul(1 << 20),
        },
        operator_token: args.operator_token.clone(),
        worker: WorkerConfig {
            poll: Duration::from_millis(args.timer_poll_ms.max(10)),
            ..WorkerConfig::default()
        },
        slack,
        secrets,
        outbound: OutboundPolicy {
            plain_http: HostList::parse(&args.outbound_allow_http),
            private_addresses: HostList::parse(&args.outbound_allow_private),
            ..OutboundPolicy::default()
        },
    })
    .await?;
    let base = format!("http://{}/api/v1", server.addr);
    // Tests and scripts read this line to find the port.
    println!(
        "assent listening on http://{} (database: {})",
        server.addr,
        redact(&database)
    );

    if !examples.is_empty() {
        let tokens_file = args.data_dir.join("demo-tokens.json");
        let tokens = examples::provision(&server.runner, &examples, &plugins, &tokens_file).await?;
        let flows: Vec<&str> = examples.iter().map(|flow| flow.name.as_str()).collect();
        println!(
            "demo organisation `{DEMO_ORG}` has flows: {}",
            flows.join(", ")
        );
        println!(
            "users admin, ann and bob; their API tokens are in {}",
            tokens_file.display()
        );
        if let (Some(ann), Some(admin)) = (tokens.0.get("ann"), tokens.0.get("admin")) {
            println!();
            println!("try it:");
            println!(
                "  curl -s -X POST {base}/events/request -H 'Authorization: Bearer {ann}' -H 'Content-Type: application/json' \\\n    -d '{{\"flow\": \"temporary-admin\", \"flow_inputs\": {{\"target\": \"prod-admins\", \"reason\": \"deploy\", \"duration\": \"30m\"}}}}'"
            );
            println!(
                "  curl -s -X POST {base}/runs/RUN_ID/approve -H 'Authorization: Bearer {admin}'"
            );
            println!("  curl -s {base}/audit -H 'Authorization: Bearer {admin}'");
        }
    }
    server.wait().await;
    Ok(())
}

/// The server's keys: `--secrets-key` (and `--previous-secrets-key`), or else the key kept
/// in the data dir, made on first start.
fn keyring(args: &ServeArgs) -> anyhow::Result<Keyring> {
    let current = match &args.secrets_key {
        Some(key) => key.clone(),
        None => local_key(&args.data_dir.join("secrets.key"))?,
    };
    Keyring::from_hex(&current, args.previous_secrets_key.as_deref())
        .context("--secrets-key / --previous-secrets-key")
}

/// The key in `path`, or a new random one written there, readable by its owner alone.
fn local_key(path: &Path) -> anyhow::Result<String> {
    if let Ok(key) = std::fs::read_to_string(path) {
        return Ok(key.trim().to_owned());
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|error| anyhow::anyhow!("no randomness for a key: {error}"))?;
    let key = hex::encode(bytes);
    write_private(path, &key).with_context(|| format!("could not write `{}`", path.display()))?;
    eprintln!(
        "note: made a secrets key in {}; give one with --secrets-key in production, and keep it",
        path.display()
    );
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// Hides a password in a database URL.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Builds (or reads) each example's plugins.
async fn build_example_plugins(
    examples: &[examples::ExampleFlow],
    data_dir: &Path,
) -> anyhow::Result<BTreeMap<PathBuf, Vec<u8>>> {
    let mut paths: Vec<PathBuf> = examples
        .iter()
        .flat_map(|flow| std::iter::once(flow.plugin.clone()).chain(flow.strategy.clone()))
        .collect();
    paths.sort();
    paths.dedup();
    let mut plugins = BTreeMap::new();
    for path in paths {
        let bytes = if path.is_dir() {
            eprintln!("building example plugin {}", path.display());
            let crate_dir = path.clone();
            let options = BuildOptions {
                target_dir: Some(data_dir.join("build")),
                ..BuildOptions::default()
            };
            let built = tokio::task::spawn_blocking(move || {
                build_rust(&crate_dir, &options, |progress| {
                    if let Progress::Diagnostic { rendered } = progress {
                        eprint!("{rendered}");
                    }
                })
            })
            .await
            .context("the build was interrupted")?;
            let components = match built {
                Ok(components) => components,
                Err(BuildError::Compile { stderr }) => {
                    eprint!("{stderr}");
                    bail!(
                        "example plugin `{}` did not compile (see above)",
                        path.display()
                    );
                }
                Err(error) => return Err(error.into()),
            };
            let [component] = components.as_slice() else {
                bail!(
                    "`{}` built {} components, expected one",
                    path.display(),
                    components.len()
                );
            };
            std::fs::read(&component.path)
                .with_context(|| format!("could not read `{}`", component.path.display()))?
        } else {
            std::fs::read(&path).with_context(|| format!("could not read `{}`", path.display()))?
        };
        plugins.insert(path, bytes);
    }
    Ok(plugins)
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(redact("postgres://u:secret@db/x"), "postgres://u:***@db/x");
        assert_eq!(redact("postgres://u@db/x"), "postgres://u@db/x");
        assert_eq!(
            redact("sqlite://.assent/assent.db"),
            "sqlite://.assent/assent.db"
        );
    }
}
