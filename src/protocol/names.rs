//! Validated names and values of the protocol.
//!
//! Parse, don't validate: each type can only be built through `parse`, which applies the
//! contract's rule, so a `RoomName` in hand is a valid room name everywhere downstream and
//! nothing past the decoder re-checks it. Deserializing goes through the same `parse`
//! (`#[serde(try_from = "String")]`), so the browser gets the same guarantee for frames it
//! receives.

use crate::protocol::error::ProtocolError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest room name, in characters.
pub const ROOM_MAX_CHARS: usize = 64;
/// Longest user name after trimming, in characters.
pub const NAME_MAX_CHARS: usize = 32;
/// Longest message body, in Unicode scalar values.
pub const BODY_MAX_CHARS: usize = 4000;
/// Longest client id, in characters.
pub const CLIENT_ID_MAX_CHARS: usize = 64;

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn is_token(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.chars().all(is_token_char)
}

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            /// The validated text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = ProtocolError;
            fn try_from(s: String) -> Result<Self, ProtocolError> {
                Self::parse(&s)
            }
        }
    };
}

/// A room: 1–64 characters from `[A-Za-z0-9_-]`, case-sensitive. Safe in a URL path as is.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoomName(String);

impl RoomName {
    /// Accepts a valid room name, else [`ProtocolError::InvalidRoom`].
    pub fn parse(s: &str) -> Result<Self, ProtocolError> {
        if is_token(s, ROOM_MAX_CHARS) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ProtocolError::InvalidRoom)
        }
    }
}
string_newtype!(RoomName);

/// Longest user id (a token's `sub`), in characters.
pub const USER_MAX_CHARS: usize = 64;

/// Longest token accepted in an `auth` frame, in bytes.
pub const TOKEN_MAX_BYTES: usize = 8 * 1024;

/// Who a user is (v1.1): a token's `sub` or an account's id, 1–64 characters from
/// `[A-Za-z0-9_.:@-]`. Opaque: two users are the same exactly when their ids are equal.
/// A message carries it as `user`, so no guest (who has none) can pass for a user.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    /// Accepts a valid user id, else [`ProtocolError::InvalidName`] (a token carrying a
    /// bad `sub` is refused `unauthorized` by whoever verifies it).
    pub fn parse(s: &str) -> Result<Self, ProtocolError> {
        let ok = !s.is_empty()
            && s.chars().count() <= USER_MAX_CHARS
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.:@-".contains(c));
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(ProtocolError::InvalidName)
        }
    }
}
string_newtype!(UserId);

/// The text of an `auth` frame's token: at most [`TOKEN_MAX_BYTES`], not yet verified.
/// Deliberately not `Display` nor `Debug`-printed: a token is a secret and must never
/// reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Accepts 1–8192 bytes, else [`ProtocolError::NoToken`].
    pub fn parse(s: &str) -> Result<Self, ProtocolError> {
        if s.is_empty() || s.len() > TOKEN_MAX_BYTES {
            return Err(ProtocolError::NoToken);
        }
        Ok(Self(s.to_owned()))
    }

    /// The token, for the verifier.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Serialize for Token {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token(<{} bytes>)", self.0.len())
    }
}

/// A display name: 1–32 characters after trimming, no control characters, no invisible
/// or direction-changing ones (see [`is_deceptive`]). Holds the trimmed form, so " ann "
/// and "ann" are the same member.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserName(String);

impl UserName {
    /// Trims, then accepts 1–32 characters without control characters.
    pub fn parse(s: &str) -> Result<Self, ProtocolError> {
        let t = s.trim();
        let n = t.chars().count();
        if n == 0 || n > NAME_MAX_CHARS || t.chars().any(char::is_control) || is_deceptive(t) {
            return Err(ProtocolError::InvalidName);
        }
        Ok(Self(t.to_owned()))
    }
}
string_newtype!(UserName);

/// Characters that draw nothing, or reorder what is drawn around them, so that a name
/// holding them can look exactly like another member's: the bidi embeddings, overrides and
/// isolates (U+202A–202E, U+2066–2069) and marks (U+200E, U+200F, U+061C), zero-width
/// spaces and joiners (U+200B, U+200C, U+2060–2064, U+FEFF, U+180E), and the soft hyphen.
const INVISIBLE: [(char, char); 9] = [
    ('\u{00AD}', '\u{00AD}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200C}'),
    ('\u{200E}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{2069}'),
    ('\u{FEFF}', '\u{FEFF}'),
];

/// Whether a name holds a character that lets it pass for another one: an [`INVISIBLE`]
/// one, or a zero-width joiner (U+200D) anywhere but between two emoji-like characters,
/// where it builds one picture (👩‍💻) and cannot hide inside a word.
fn is_deceptive(name: &str) -> bool {
    let chars: Vec<char> = name.chars().collect();
    let pictograph = |c: Option<&char>| c.is_some_and(|c| !c.is_ascii() && !c.is_alphanumeric());
    chars.iter().enumerate().any(|(i, c)| {
        INVISIBLE.iter().any(|(lo, hi)| (*lo..=*hi).contains(c))
            || (*c == '\u{200D}'
                && !(i > 0 && pictograph(chars.get(i - 1)) && pictograph(chars.get(i + 1))))
    })
}

/// A message body: 1–4000 Unicode scalar values, not only whitespace. Kept verbatim (no
/// trimming, no escaping): escaping is the renderer's job, never the wire's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Body(String);

impl Body {
    /// Accepts 1–4000 scalar values that are not all whitespace.
    pub fn parse(s: &str) -> Result<Self, ProtocolError> {
        if s.trim().is_empty() || s.chars().count() > BODY_MAX_CHARS {
            return Err(ProtocolError::InvalidBody);
        }
        Ok(Self(s.to_owned()))
    }
}
string_newtype!(Body);

/// The client's idempotency key for one publish: 1–64 characters from `[A-Za-z0-9_-]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(String);

impl ClientId {
    /// Accepts a valid client id, else [`ProtocolError::InvalidClientId`].
    pub fn parse(s: &str) -> Result<Self, ProtocolError> {
        if is_token(s, CLIENT_ID_MAX_CHARS) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ProtocolError::InvalidClientId)
        }
    }
}
string_newtype!(ClientId);

/// The identity of one room history. Opaque to clients: they only compare it. A new epoch
/// means the history they knew is gone, so their `since` means nothing any more.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Epoch(String);

impl Epoch {
    /// Wraps any string; epochs are compared, never interpreted.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The epoch's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_pass_for_another_are_refused() {
        for bad in [
            "ann\u{200B}",
            "a\u{200D}nn",
            "\u{202E}nna",
            "ann\u{2066}",
            "ann\u{2069}x",
            "an\u{00AD}n",
            "\u{FEFF}ann",
            "ann\u{200F}",
            "\u{200D}👩",
        ] {
            assert_eq!(
                UserName::parse(bad),
                Err(ProtocolError::InvalidName),
                "{bad:?}"
            );
        }
        for good in ["Zoë", "李雷", "👩\u{200D}💻 dev", "ann 🎉", "O'Brien"] {
            assert!(UserName::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn room_names() {
        assert!(RoomName::parse("general").is_ok());
        assert!(RoomName::parse("A-b_9").is_ok());
        assert!(RoomName::parse(&"x".repeat(64)).is_ok());
        assert_eq!(RoomName::parse(""), Err(ProtocolError::InvalidRoom));
        assert_eq!(
            RoomName::parse(&"x".repeat(65)),
            Err(ProtocolError::InvalidRoom)
        );
        assert_eq!(RoomName::parse("a b"), Err(ProtocolError::InvalidRoom));
        assert_eq!(RoomName::parse("é"), Err(ProtocolError::InvalidRoom));
        assert_eq!(RoomName::parse("a/b"), Err(ProtocolError::InvalidRoom));
    }

    #[test]
    fn user_names_are_trimmed_and_counted_in_chars() {
        assert_eq!(UserName::parse("  ann ").unwrap().as_str(), "ann");
        assert!(UserName::parse(&"é".repeat(32)).is_ok());
        assert_eq!(
            UserName::parse(&"é".repeat(33)),
            Err(ProtocolError::InvalidName)
        );
        assert_eq!(UserName::parse("   "), Err(ProtocolError::InvalidName));
        assert_eq!(UserName::parse("a\u{7}b"), Err(ProtocolError::InvalidName));
        assert_eq!(UserName::parse("a\nb"), Err(ProtocolError::InvalidName));
    }

    #[test]
    fn bodies_are_verbatim_and_bounded() {
        assert_eq!(Body::parse(" hi ").unwrap().as_str(), " hi ");
        assert_eq!(Body::parse("<b>x</b>").unwrap().as_str(), "<b>x</b>");
        assert!(Body::parse(&"😀".repeat(4000)).is_ok());
        assert_eq!(
            Body::parse(&"😀".repeat(4001)),
            Err(ProtocolError::InvalidBody)
        );
        assert_eq!(Body::parse(""), Err(ProtocolError::InvalidBody));
        assert_eq!(Body::parse(" \n\t "), Err(ProtocolError::InvalidBody));
    }

    #[test]
    fn client_ids() {
        assert!(ClientId::parse("abc-123_X").is_ok());
        assert_eq!(ClientId::parse(""), Err(ProtocolError::InvalidClientId));
        assert_eq!(
            ClientId::parse(&"a".repeat(65)),
            Err(ProtocolError::InvalidClientId)
        );
        assert_eq!(ClientId::parse("a.b"), Err(ProtocolError::InvalidClientId));
    }

    #[test]
    fn deserializing_validates() {
        assert!(serde_json::from_str::<RoomName>("\"ok\"").is_ok());
        assert!(serde_json::from_str::<RoomName>("\"not ok\"").is_err());
    }
}
