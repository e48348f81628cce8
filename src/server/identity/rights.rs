//! What a token's `rooms` claim grants: rights in rooms named exactly or by a prefix.

use crate::protocol::RoomName;
use serde_json::Value;

/// Rights in one room. The claim only adds to what a room gives everyone: it makes its
/// holder a member of a private room, or a moderator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rights {
    /// May join and read.
    pub read: bool,
    /// May publish.
    pub publish: bool,
    /// May moderate (delete, ban, mute).
    pub moderate: bool,
}

impl Rights {
    /// Both sets together.
    fn union(self, other: Rights) -> Rights {
        Rights {
            read: self.read || other.read,
            publish: self.publish || other.publish,
            moderate: self.moderate || other.moderate,
        }
    }

    /// Adds the right named `name`; false for a name this server does not know.
    fn add(&mut self, name: &str) -> bool {
        match name {
            "read" => self.read = true,
            "publish" => self.publish = true,
            "moderate" => self.moderate = true,
            _ => return false,
        }
        true
    }
}

/// Which rooms a `rooms` entry names.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Pattern {
    /// This room.
    Exact(RoomName),
    /// Every room whose name starts with this (the entry ended with `*`).
    Prefix(String),
}

impl Pattern {
    fn parse(s: &str) -> Option<Self> {
        match s.strip_suffix('*') {
            // The prefix of a valid name is made of valid characters (it may be empty:
            // `*` is every room).
            Some(prefix) => (prefix.is_empty() || RoomName::parse(prefix).is_ok())
                .then(|| Pattern::Prefix(prefix.to_string())),
            None => RoomName::parse(s).ok().map(Pattern::Exact),
        }
    }

    fn matches(&self, room: &RoomName) -> bool {
        match self {
            Pattern::Exact(r) => r == room,
            Pattern::Prefix(p) => room.as_str().starts_with(p.as_str()),
        }
    }
}

/// A token's `rooms` claim, parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoomRights(Vec<(Pattern, Rights)>);

impl RoomRights {
    /// Parses the claim: an object from room names (or prefixes ending in `*`) to arrays
    /// of rights. Rights this server does not know are ignored (a newer issuer may grant
    /// more); anything else malformed refuses the token, so a typo never grants silently
    /// less or more than meant.
    pub fn parse(claim: Option<&Value>) -> Result<Self, &'static str> {
        let Some(claim) = claim.filter(|v| !v.is_null()) else {
            return Ok(Self::default());
        };
        let Value::Object(map) = claim else {
            return Err("the rooms claim must be an object");
        };
        let mut out = Vec::with_capacity(map.len());
        for (key, rights) in map {
            let pattern =
                Pattern::parse(key).ok_or("a rooms claim key is not a room or prefix*")?;
            let Value::Array(names) = rights else {
                return Err("a rooms claim value must be an array of rights");
            };
            let mut r = Rights::default();
            for name in names {
                let name = name.as_str().ok_or("a right must be a string")?;
                r.add(name);
            }
            out.push((pattern, r));
        }
        Ok(Self(out))
    }

    /// Parses `chorus token`'s `--room name:read,publish` (or `prefix-*:moderate`).
    pub fn parse_spec(spec: &str) -> Result<(String, Vec<String>), String> {
        let (room, rights) = spec
            .split_once(':')
            .ok_or_else(|| format!("{spec:?}: expected ROOM:RIGHT[,RIGHT…]"))?;
        if Pattern::parse(room).is_none() {
            return Err(format!(
                "{room:?} is not a room name or a prefix ending in *"
            ));
        }
        let rights: Vec<String> = rights.split(',').map(|r| r.trim().to_string()).collect();
        for r in &rights {
            if !Rights::default().add(r) {
                return Err(format!("{r:?} is not a right (read, publish, moderate)"));
            }
        }
        Ok((room.to_string(), rights))
    }

    /// The rights granted in `room` by every entry that names it.
    pub fn in_room(&self, room: &RoomName) -> Rights {
        self.0
            .iter()
            .filter(|(p, _)| p.matches(room))
            .fold(Rights::default(), |acc, (_, r)| acc.union(*r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn room(s: &str) -> RoomName {
        RoomName::parse(s).unwrap()
    }

    #[test]
    fn exact_names_and_prefixes_grant_their_rights_together() {
        let r = RoomRights::parse(Some(&json!({
            "team-*": ["read", "publish"],
            "team-ops": ["moderate", "fly"],
            "lobby": []
        })))
        .unwrap();
        assert_eq!(
            r.in_room(&room("team-ops")),
            Rights {
                read: true,
                publish: true,
                moderate: true
            }
        );
        assert_eq!(
            r.in_room(&room("team-a")),
            Rights {
                read: true,
                publish: true,
                moderate: false
            }
        );
        assert_eq!(r.in_room(&room("lobby")), Rights::default());
        assert_eq!(
            r.in_room(&room("teams")),
            Rights::default(),
            "the dash is part of the prefix"
        );
        assert_eq!(
            RoomRights::parse(None).unwrap().in_room(&room("x")),
            Rights::default()
        );
    }

    #[test]
    fn a_malformed_claim_refuses_the_token() {
        for bad in [
            json!([]),
            json!({"bad room": ["read"]}),
            json!({"a": "read"}),
            json!({"a": [1]}),
            json!({"a*b": ["read"]}),
        ] {
            assert!(RoomRights::parse(Some(&bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_token_tools_room_spec() {
        assert_eq!(
            RoomRights::parse_spec("team-*:read,publish").unwrap(),
            (
                "team-*".to_string(),
                vec!["read".to_string(), "publish".to_string()]
            )
        );
        assert!(RoomRights::parse_spec("team").is_err());
        assert!(RoomRights::parse_spec("team:fly").is_err());
        assert!(RoomRights::parse_spec("bad room:read").is_err());
    }
}
