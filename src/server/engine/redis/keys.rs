//! Redis key and channel names for a room, under the deployment's prefix.

use crate::protocol::RoomName;

/// Names every key of the Redis engine. Room names are tokens (letters, digits, `-`,
/// `_`), so they never contain the braces of the `{room}` hash tag.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// Keys under `prefix` (several deployments can share one Redis with different ones).
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
        }
    }

    /// The room's channel: every stored message and presence announcement.
    pub fn channel(&self, room: &RoomName) -> String {
        format!("{}:{{{}}}", self.prefix, room.as_str())
    }

    /// The room a channel name belongs to, if it is one of ours.
    pub fn room_of_channel(&self, channel: &str) -> Option<RoomName> {
        let inner = channel
            .strip_prefix(&self.prefix)?
            .strip_prefix(":{")?
            .strip_suffix('}')?;
        RoomName::parse(inner).ok()
    }

    /// Hash `epoch`, `last`.
    pub fn meta(&self, room: &RoomName) -> String {
        format!("{}:meta", self.channel(room))
    }

    /// Sorted set seq → message JSON.
    pub fn log(&self, room: &RoomName) -> String {
        format!("{}:log", self.channel(room))
    }

    /// Sorted set client_id → seq.
    pub fn ids(&self, room: &RoomName) -> String {
        format!("{}:ids", self.channel(room))
    }

    /// Sorted set seq → `"seq emoji"` of every emoji some message of the room has.
    pub fn reaction_seqs(&self, room: &RoomName) -> String {
        format!("{}:rxs", self.channel(room))
    }

    /// Hash `"seq emoji"` → how many react so.
    pub fn reaction_counts(&self, room: &RoomName) -> String {
        format!("{}:rxc", self.channel(room))
    }

    /// Hash `"emoji who"` → `"ts|name"`: who reacted to message `seq`.
    pub fn reactors(&self, room: &RoomName, seq: u64) -> String {
        format!("{}{seq}", self.reactors_prefix(room))
    }

    /// What [`Keys::reactors`] keys start with (the scripts add the seq).
    pub fn reactors_prefix(&self, room: &RoomName) -> String {
        format!("{}:rx:", self.channel(room))
    }

    /// Sorted set room → when it was last seen holding messages (the cap on rooms).
    /// The one key that is not a room's.
    pub fn rooms(&self) -> String {
        format!("{}:rooms", self.prefix)
    }

    /// Hash `id`, `name`, `hash` of the account with this name key.
    pub fn account(&self, name_key: &str) -> String {
        format!("{}:account:{name_key}", self.prefix)
    }

    /// Hash user id → name of every account.
    pub fn account_names(&self) -> String {
        format!("{}:account-names", self.prefix)
    }

    /// Sorted set of the user's sessions (`user` empty: the prefix of those keys).
    pub fn account_sessions(&self, user: &str) -> String {
        format!("{}:account-sessions:{user}", self.prefix)
    }

    /// What a session's key starts with (then its hash in hex).
    pub fn session_prefix(&self) -> String {
        format!("{}:session:", self.prefix)
    }

    /// The channel sign-outs are published on (the session hash in hex).
    pub fn revoked(&self) -> String {
        format!("{}:revoked", self.prefix)
    }

    /// Hash `visibility`, `owner` of a room with settings.
    pub fn room_settings(&self, room: &RoomName) -> String {
        format!("{}:settings", self.channel(room))
    }

    /// Hash user → role of a room's members.
    pub fn room_members(&self, room: &RoomName) -> String {
        format!("{}:members", self.channel(room))
    }

    /// Set of the rooms a user owns or is a member of (the directory's index by user).
    pub fn user_rooms(&self, user: &str) -> String {
        format!("{}:user-rooms:{user}", self.prefix)
    }

    /// Sorted set invite hash → expiry of a room.
    pub fn room_invites(&self, room: &RoomName) -> String {
        format!("{}:invites", self.channel(room))
    }

    /// Hash `kind:user` → end (ms; 0 for good) of a room's bans and mutes.
    pub fn room_sanctions(&self, room: &RoomName) -> String {
        format!("{}:sanctions", self.channel(room))
    }

    /// Hash user → end (ms; 0 for good) of the server-wide bans.
    pub fn server_bans(&self) -> String {
        format!("{}:server-bans", self.prefix)
    }

    /// Hash node → its latest numbers (JSON with a timestamp), for `/admin`.
    pub fn node_stats(&self) -> String {
        format!("{}:nodes", self.prefix)
    }

    /// The channel the operator's actions go to every node on.
    pub fn admin(&self) -> String {
        format!("{}:admin", self.prefix)
    }

    /// List of the other nodes' answers to one question (`id`: fresh per question).
    pub fn reply(&self, id: &str) -> String {
        format!("{}:reply:{id}", self.prefix)
    }

    /// Whether `key` is one of [`Keys::reply`]'s.
    pub fn is_reply(&self, key: &str) -> bool {
        key.strip_prefix(&self.prefix)
            .and_then(|k| k.strip_prefix(":reply:"))
            .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()))
    }

    /// Hash `slow_mode_s` of a room's moderation settings.
    pub fn room_policy(&self, room: &RoomName) -> String {
        format!("{}:policy", self.channel(room))
    }

    /// List of a room's audit log (JSON acts, oldest first).
    pub fn room_audit(&self, room: &RoomName) -> String {
        format!("{}:audit", self.channel(room))
    }

    /// The room an invite (its hash in hex) is for.
    pub fn invite(&self, hex: &str) -> String {
        format!("{}:invite:{hex}", self.prefix)
    }

    /// Hash node → presence record.
    pub fn presence(&self, room: &RoomName) -> String {
        format!("{}:presence", self.channel(room))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_name_their_room() {
        let k = Keys::new("chorus");
        let r = RoomName::parse("lobby-1").unwrap();
        assert_eq!(k.channel(&r), "chorus:{lobby-1}");
        assert_eq!(k.meta(&r), "chorus:{lobby-1}:meta");
        assert_eq!(k.room_of_channel("chorus:{lobby-1}"), Some(r));
        assert_eq!(k.room_of_channel("other:{lobby-1}"), None);
        assert_eq!(k.room_of_channel("chorus:{bad room}"), None);
        assert!(k.is_reply(&k.reply("00ff")));
        for foreign in [
            "chorus:reply:",
            "chorus:{lobby-1}",
            "other:reply:00ff",
            "chorus:reply:a b",
        ] {
            assert!(!k.is_reply(foreign), "{foreign}");
        }
    }
}
