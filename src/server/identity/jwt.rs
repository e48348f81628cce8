//! Checking the tokens of `auth` frames (JWTs, with the `jsonwebtoken` crate) and minting
//! them for `chorus token`.
//!
//! The key is chosen by the server, never by the token: HS256 only with the configured
//! secret; EdDSA, ES256 and RS256 only with a PEM key from `--jwt-keys`, picked by the
//! token's `kid` (a file's stem), and only for the algorithm of that key's type. So
//! `alg: none`, an HS256 token signed with a public key as its secret, and an unknown
//! `kid` are all refused before any signature is checked. Signatures are compared by the
//! crate's constant-time verifiers.

use super::rights::RoomRights;
use super::{AuthError, Identity};
use crate::protocol::{Token, UserId, UserName};
use crate::server::config::{IdentityConfig, Secret, TokenArgs};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A public key from `--jwt-keys` and the one algorithm it verifies.
struct PublicKey {
    alg: Algorithm,
    key: DecodingKey,
}

/// Verifies tokens against the configured keys and checks.
pub struct Verifier {
    secret: Option<DecodingKey>,
    keys: HashMap<String, PublicKey>,
    audience: Option<String>,
    issuer: Option<String>,
    leeway: Duration,
}

/// A key file that cannot be used: the server refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The directory or a file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// What could not be read.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A file is not a PEM public key of a supported type.
    #[error("{path}: not a PEM public key for EdDSA (Ed25519), ES256 (P-256) or RS256 (RSA)")]
    NotAKey {
        /// The file.
        path: PathBuf,
    },
    /// The secret cannot be a key (it is empty).
    #[error("--jwt-secret cannot be used as an HS256 key")]
    Secret,
    /// A file's stem cannot be a `kid`.
    #[error("{path}: the file name (its kid) must be valid UTF-8")]
    BadName {
        /// The file.
        path: PathBuf,
    },
}

/// The claims Chorus reads. Others are ignored; `nbf`, `aud` and `iss` are checked by the
/// crate's validation.
#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    rooms: Option<serde_json::Value>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kids: Vec<&String> = self.keys.keys().collect();
        kids.sort();
        f.debug_struct("Verifier")
            .field("hs256", &self.secret.is_some())
            .field("kids", &kids)
            .field("audience", &self.audience)
            .field("issuer", &self.issuer)
            .field("leeway", &self.leeway)
            .finish()
    }
}

impl Verifier {
    /// The verifier the configuration describes; `None` when it names no key (then every
    /// `auth` is `unauthorized`).
    pub fn from_config(c: &IdentityConfig) -> Result<Option<Self>, KeyError> {
        let keys = match &c.jwt_keys {
            Some(dir) => load_keys(dir)?,
            None => HashMap::new(),
        };
        if c.jwt_secret.is_none() && keys.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self {
            secret: c
                .jwt_secret
                .as_ref()
                .map(|s| DecodingKey::from_secret(s.expose()))
                .transpose()
                .map_err(|_| KeyError::Secret)?,
            keys,
            audience: c.jwt_audience.clone(),
            issuer: c.jwt_issuer.clone(),
            leeway: c.jwt_leeway,
        }))
    }

    /// The clock skew allowed: a session's identity ends at `exp` plus this.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// Checks `token` and returns who it says the connection is.
    pub fn verify(&self, token: &Token) -> Result<Identity, AuthError> {
        let refused = AuthError::Unauthorized;
        let header = jsonwebtoken::decode_header(token.expose())
            .map_err(|_| refused("not a JWT, or its algorithm is not one Chorus accepts"))?;
        let key = self.key_for(&header)?;
        let mut v = Validation::new(header.alg);
        v.leeway = self.leeway.as_secs();
        v.validate_nbf = true;
        let mut required = vec!["exp", "sub"];
        match &self.audience {
            Some(aud) => {
                v.set_audience(&[aud]);
                required.push("aud");
            }
            None => v.validate_aud = false,
        }
        if let Some(iss) = &self.issuer {
            v.set_issuer(&[iss]);
            required.push("iss");
        }
        v.set_required_spec_claims(&required);
        let data = jsonwebtoken::decode::<Claims>(token.expose(), key, &v).map_err(|e| match e
            .kind()
        {
            ErrorKind::ExpiredSignature => AuthError::Expired,
            ErrorKind::ImmatureSignature => refused("the token is not valid yet (nbf)"),
            ErrorKind::InvalidAudience => refused("the token is for another audience (aud)"),
            ErrorKind::InvalidIssuer => refused("the token is from another issuer (iss)"),
            ErrorKind::InvalidSignature => refused("the token's signature does not verify"),
            ErrorKind::MissingRequiredClaim(_) => {
                refused("the token lacks a required claim (sub, exp, aud or iss)")
            }
            ErrorKind::InvalidAlgorithm => refused("the token's algorithm does not fit its key"),
            _ => refused("the token is malformed"),
        })?;
        let claims = data.claims;
        let user = UserId::parse(&claims.sub).map_err(|_| {
            refused("the token's sub must be 1-64 characters from A-Z a-z 0-9 _ . : @ -")
        })?;
        let name = UserName::parse(claims.name.as_deref().unwrap_or(&claims.sub))
            .map_err(|_| refused("the token's name breaks the rules for names"))?;
        let rooms = RoomRights::parse(claims.rooms.as_ref()).map_err(refused)?;
        Ok(Identity {
            user,
            name,
            expires_at: claims.exp.saturating_mul(1000),
            rooms,
            session: None,
        })
    }

    /// The key this token may be checked with, chosen from the server's keys.
    fn key_for(&self, header: &Header) -> Result<&DecodingKey, AuthError> {
        let refused = AuthError::Unauthorized;
        match header.alg {
            Algorithm::HS256 => self.secret.as_ref().ok_or(refused(
                "HS256 tokens are not accepted here (no secret is configured)",
            )),
            Algorithm::EdDSA | Algorithm::ES256 | Algorithm::RS256 => {
                let key = match &header.kid {
                    Some(kid) => self.keys.get(kid).ok_or(refused("unknown kid"))?,
                    None => {
                        let mut fitting = self.keys.values().filter(|k| k.alg == header.alg);
                        match (fitting.next(), fitting.next()) {
                            (Some(k), None) => k,
                            (None, _) => {
                                return Err(refused("no configured key is for this algorithm"))
                            }
                            (Some(_), Some(_)) => {
                                return Err(refused("several keys fit: the token needs a kid"))
                            }
                        }
                    }
                };
                if key.alg != header.alg {
                    return Err(refused("the token's algorithm does not fit its key"));
                }
                Ok(&key.key)
            }
            _ => Err(refused("the token's algorithm is not one Chorus accepts")),
        }
    }
}

/// Reads every `*.pem` in `dir`: its stem is the kid, its type decides the algorithm.
fn load_keys(dir: &Path) -> Result<HashMap<String, PublicKey>, KeyError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| KeyError::Io { path, source }
    };
    let mut keys = HashMap::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("pem") {
            continue;
        }
        let kid = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| KeyError::BadName { path: path.clone() })?
            .to_string();
        let pem = std::fs::read(&path).map_err(io(&path))?;
        let key = if let Ok(key) = DecodingKey::from_ed_pem(&pem) {
            PublicKey {
                alg: Algorithm::EdDSA,
                key,
            }
        } else if let Ok(key) = DecodingKey::from_ec_pem(&pem) {
            PublicKey {
                alg: Algorithm::ES256,
                key,
            }
        } else if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
            PublicKey {
                alg: Algorithm::RS256,
                key,
            }
        } else {
            return Err(KeyError::NotAKey { path });
        };
        keys.insert(kid, key);
    }
    Ok(keys)
}

/// The claims `chorus token` writes.
#[derive(Serialize)]
struct Minted<'a> {
    sub: &'a str,
    name: &'a str,
    iat: u64,
    exp: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    rooms: Option<HashMap<String, Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
}

/// A token for `args`, signed HS256 with `secret`, with the configured `aud` and `iss`
/// (so the server that minted it accepts it).
pub fn mint(
    secret: &Secret,
    args: &TokenArgs,
    identity: &IdentityConfig,
) -> Result<String, String> {
    let sub = UserId::parse(&args.sub).map_err(|_| {
        format!(
            "--sub {:?}: 1-64 characters from A-Z a-z 0-9 _ . : @ -",
            args.sub
        )
    })?;
    let name = args.name.clone().unwrap_or_else(|| args.sub.clone());
    UserName::parse(&name).map_err(|e| format!("--name {name:?}: {e}"))?;
    let mut rooms = HashMap::new();
    for spec in &args.rooms {
        let (room, rights) = RoomRights::parse_spec(spec)?;
        rooms.entry(room).or_insert_with(Vec::new).extend(rights);
    }
    let now = crate::server::store::now_ms() / 1000;
    let claims = Minted {
        sub: sub.as_str(),
        name: &name,
        iat: now,
        exp: now + args.ttl.as_secs().max(1),
        rooms: (!rooms.is_empty()).then_some(rooms),
        aud: identity.jwt_audience.as_deref(),
        iss: identity.jwt_issuer.as_deref(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.expose()).map_err(|e| format!("bad secret: {e}"))?,
    )
    .map_err(|e| format!("signing failed: {e}"))
}

#[cfg(test)]
mod tests;
