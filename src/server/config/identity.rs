//! The identity options (v1.1): token keys, their checks, whether guests may speak, and
//! the `chorus token` tool.

use super::duration;
use std::path::PathBuf;
use std::time::Duration;

/// Who may speak, and how tokens are checked (`docs/identity.md`).
#[derive(clap::Args, Debug, Clone)]
pub struct IdentityConfig {
    /// Secret for HS256 tokens (at least 32 bytes); keep it in the environment, not on
    /// the command line
    #[arg(long, env = "CHORUS_JWT_SECRET", hide_env_values = true, value_parser = secret)]
    pub jwt_secret: Option<Secret>,

    /// Directory of PEM public keys for EdDSA, ES256 or RS256 tokens; a file's stem is
    /// the `kid` that picks it (several at once, to rotate keys)
    #[arg(long, env = "CHORUS_JWT_KEYS")]
    pub jwt_keys: Option<PathBuf>,

    /// When set, a token's `aud` must be this
    #[arg(long, env = "CHORUS_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,

    /// When set, a token's `iss` must be this
    #[arg(long, env = "CHORUS_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// Clock skew allowed on a token's `exp` and `nbf`
    #[arg(long, env = "CHORUS_JWT_LEEWAY", default_value = "30s", value_parser = duration)]
    pub jwt_leeway: Duration,

    /// `off`: only authenticated users may join and publish (guests are `unauthorized`)
    #[arg(long, env = "CHORUS_GUESTS", value_enum, default_value_t = Guests::On)]
    pub guests: Guests,

    /// `off`: the session cookie is sent over plain HTTP too (only for local development
    /// without TLS on a name other than localhost)
    #[arg(long, env = "CHORUS_COOKIE_SECURE", value_enum, default_value_t = Switch::On)]
    pub cookie_secure: Switch,

    /// How long a sign-in lasts
    #[arg(long, env = "CHORUS_SESSION_TTL", default_value = "30d", value_parser = duration)]
    pub session_ttl: Duration,

    /// Origins (scheme://host[:port]) of applications that may frame `/embed/{room}` and
    /// sign it in with their tokens, comma-separated; without it no site may frame Chorus
    #[arg(long, env = "CHORUS_EMBED_ORIGINS", value_delimiter = ',', value_parser = origin)]
    pub embed_origins: Vec<String>,

    /// Accounts (by name, comma-separated) that may use the operator's view `/admin`
    #[arg(long, env = "CHORUS_ADMINS", value_delimiter = ',', value_parser = admin_name)]
    pub admins: Vec<crate::protocol::UserName>,

    /// New accounts one client address may make per hour
    #[arg(long, env = "CHORUS_SIGNUPS_PER_IP_PER_HOUR", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub signups_per_ip_per_hour: u32,
}

/// An account name in `--admins`.
fn admin_name(s: &str) -> Result<crate::protocol::UserName, String> {
    crate::protocol::UserName::parse(s.trim())
        .map_err(|e| format!("{s:?} is not an account name: {e}"))
}

/// An on/off option.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Switch {
    /// On.
    On,
    /// Off.
    Off,
}

/// Whether connections without an identity may join and publish.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guests {
    /// v1: anyone may (the default).
    On,
    /// Only users with a token or a session.
    Off,
}

/// A secret from the configuration: never printed (`Debug` says only its length).
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// A secret given in code (tests, embedding); its length is checked at start like
    /// a flag's.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The secret's bytes, for the key that uses it.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret(<{} bytes>)", self.0.len())
    }
}

/// Takes any text: its length is checked by [`IdentityConfig::validate`], because clap's
/// own refusal would print the value (the secret) in its message.
fn secret(s: &str) -> Result<Secret, String> {
    Ok(Secret(s.to_string()))
}

/// An origin as browsers write it: `http` or `https`, a host, an optional port, nothing
/// after (no path, no trailing slash), lower-case.
pub(super) fn origin(s: &str) -> Result<String, String> {
    let s = s.trim().to_ascii_lowercase();
    let (scheme, rest) = s
        .split_once("://")
        .filter(|(scheme, _)| matches!(*scheme, "https" | "http"))
        .ok_or_else(|| format!("{s:?}: an origin starts with https:// or http://"))?;
    let (host, port) =
        match rest.find(']') {
            Some(end) => match &rest[end + 1..] {
                "" => (&rest[..=end], None),
                after => (
                    &rest[..=end],
                    Some(after.strip_prefix(':').ok_or_else(|| {
                        format!("{s:?}: only a :port may follow an IPv6 address")
                    })?),
                ),
            },
            None => match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            },
        };
    if let Some(port) = port {
        let port = port
            .parse::<u16>()
            .map_err(|_| format!("{s:?}: the port must be a number"))?;
        // Browsers leave the scheme's own port out of an origin: so does this, or no
        // message from the page would ever match.
        if (scheme, port) == ("https", 443) || (scheme, port) == ("http", 80) {
            return origin(&format!("{scheme}://{host}"));
        }
    }
    let bracketed = host.starts_with('[') && host.ends_with(']');
    let valid = !host.is_empty()
        && host.chars().all(|c| {
            c.is_ascii_alphanumeric() || c == '-' || c == '.' || (bracketed && "[]:".contains(c))
        });
    if valid {
        Ok(s)
    } else {
        Err(format!(
            "{s:?}: an origin is scheme://host[:port], with no path (e.g. https://app.example.com)"
        ))
    }
}

impl IdentityConfig {
    /// HS256 needs a key as long as its hash (RFC 7518 §3.2): 32 bytes at least.
    pub fn validate(&self) -> Result<(), String> {
        if !self.embed_origins.is_empty() && self.jwt_secret.is_none() && self.jwt_keys.is_none() {
            return Err(
                "--embed-origins needs --jwt-secret or --jwt-keys: embedded rooms sign in \
                 with the application's tokens"
                    .into(),
            );
        }
        match &self.jwt_secret {
            Some(s) if s.0.len() < 32 => Err(format!(
                "--jwt-secret must be at least 32 bytes (it has {}); e.g. `openssl rand -base64 48`",
                s.0.len()
            )),
            _ => Ok(()),
        }
    }
}

/// Tools the binary runs instead of the server.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Tool {
    /// Print a token signed with --jwt-secret (HS256), for operators and tests
    Token(TokenArgs),
}

/// `chorus token --sub u1 --name Ann --ttl 1h --room 'team-*:read,publish'`.
#[derive(clap::Args, Debug, Clone)]
pub struct TokenArgs {
    /// The user id (`sub`)
    #[arg(long)]
    pub sub: String,
    /// The name shown (default: the sub)
    #[arg(long)]
    pub name: Option<String>,
    /// How long the token is valid
    #[arg(long, default_value = "1h", value_parser = duration)]
    pub ttl: Duration,
    /// Rights in a room or rooms (`name:read,publish`, `prefix-*:moderate`); repeatable
    #[arg(long = "room")]
    pub rooms: Vec<String>,
}
