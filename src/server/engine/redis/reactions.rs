//! Reactions in Redis, beside a room's log (never inside a message's JSON, so a reaction
//! does not rewrite the message and cannot race an edit):
//! - `P:{room}:rxs`: sorted set, score = seq, member = `"seq emoji"` for every emoji a
//!   message has (a page's counts are one `ZRANGE BYSCORE`);
//! - `P:{room}:rxc`: hash `"seq emoji"` → count;
//! - `P:{room}:rx:{seq}`: hash `"emoji who"` → `"ts|name"`, who reacted to one message.
//!
//! `lua/react.lua` checks the message and changes all three in one script; the append
//! script drops the reactions of messages retention drops, the amend script those of a
//! deleted message, the purge script all of them. With a max age the keys expire too.

use super::store::{unavailable, RedisStore};
use crate::protocol::reaction::MAX_EMOJI_PER_MESSAGE;
use crate::protocol::{Emoji, Message, Reactions, RoomName, UserName};
use crate::server::store::reactions::{set_count, ReactionBook};
use crate::server::store::{Reacted, Reaction, Reactor, Reactors, StoreError};
use redis::Value;

const REACT: &str = include_str!("lua/react.lua");
const COUNTS: &str = include_str!("lua/reactions.lua");
const REACTORS: &str = include_str!("lua/reactors.lua");

fn corrupt(what: &'static str, detail: String) -> StoreError {
    StoreError::Corrupt {
        what,
        source: detail.into(),
    }
}

fn emoji(s: &str) -> Result<Emoji, StoreError> {
    Emoji::parse(s).map_err(|e| corrupt("reaction", e.to_string()))
}

fn text(v: &Value) -> Result<String, StoreError> {
    redis::from_redis_value::<String>(v.clone()).map_err(|e| corrupt("reaction", e.to_string()))
}

fn int(v: &Value) -> Result<i64, StoreError> {
    redis::from_redis_value::<i64>(v.clone()).map_err(|e| corrupt("reaction", e.to_string()))
}

impl RedisStore {
    /// [`crate::server::store::Store::react`] over Redis.
    pub(super) async fn react_in_redis(
        &self,
        room: &RoomName,
        seq: u64,
        r: Reaction,
    ) -> Result<Reacted, StoreError> {
        let keys = self.keys();
        let max_age_ms = self.retention().max_age.map_or(0, |d| d.as_millis() as u64);
        let reply: Vec<Value> = redis::cmd("EVAL")
            .arg(REACT)
            .arg(4)
            .arg(keys.log(room))
            .arg(keys.reaction_seqs(room))
            .arg(keys.reaction_counts(room))
            .arg(keys.reactors(room, seq))
            .arg(seq)
            .arg(r.emoji.as_str())
            .arg(&r.who.key)
            .arg(r.who.name.as_str())
            .arg(if r.on { "1" } else { "0" })
            .arg(MAX_EMOJI_PER_MESSAGE)
            .arg(max_age_ms)
            .query_async(&mut self.connection())
            .await
            .map_err(unavailable)?;
        match reply.first().map(int).transpose()? {
            Some(0) => Ok(Reacted::NotFound),
            Some(2) => Ok(Reacted::TooMany),
            Some(1) if reply.len() >= 2 && reply.len().is_multiple_of(2) => {
                let changed = int(&reply[1])? == 1;
                let mut counts = Reactions::new();
                for pair in reply[2..].chunks(2) {
                    counts.set(emoji(&text(&pair[0])?)?, int(&pair[1])?.max(0) as u32);
                }
                Ok(Reacted::Counts { counts, changed })
            }
            _ => Err(corrupt("react reply", format!("{reply:?}"))),
        }
    }

    /// Fills in the `reactions` of `msgs` (one room's, sorted by seq).
    pub(super) async fn attach_reactions(
        &self,
        room: &RoomName,
        msgs: &mut [Message],
    ) -> Result<(), StoreError> {
        let (Some(lo), Some(hi)) = (msgs.first().map(|m| m.seq), msgs.last().map(|m| m.seq)) else {
            return Ok(());
        };
        let keys = self.keys();
        let reply: Vec<Value> = redis::cmd("EVAL")
            .arg(COUNTS)
            .arg(2)
            .arg(keys.reaction_seqs(room))
            .arg(keys.reaction_counts(room))
            .arg(lo)
            .arg(hi)
            .query_async(&mut self.connection())
            .await
            .map_err(unavailable)?;
        for pair in reply.chunks(2) {
            let [member, n] = pair else {
                return Err(corrupt("reaction counts", format!("{reply:?}")));
            };
            let member = text(member)?;
            let Some((seq, e)) = member.split_once(' ') else {
                return Err(corrupt("reaction member", member));
            };
            let seq: u64 = seq
                .parse()
                .map_err(|_| corrupt("reaction seq", member.clone()))?;
            let n = int(n)?.max(0) as u32;
            set_count(msgs, seq, emoji(e)?, n);
        }
        Ok(())
    }

    /// [`crate::server::store::Store::reactors`] over Redis.
    pub(super) async fn reactors_in_redis(
        &self,
        room: &RoomName,
        seq: u64,
        key: &str,
    ) -> Result<Option<Reactors>, StoreError> {
        let keys = self.keys();
        let reply: Vec<Value> = redis::cmd("EVAL")
            .arg(REACTORS)
            .arg(2)
            .arg(keys.log(room))
            .arg(keys.reactors(room, seq))
            .arg(seq)
            .query_async(&mut self.connection())
            .await
            .map_err(unavailable)?;
        match reply.first().map(int).transpose()? {
            Some(0) => return Ok(None),
            Some(1) if reply.len() % 2 == 1 => {}
            _ => return Err(corrupt("reactors reply", format!("{reply:?}"))),
        }
        // (emoji, ts, who, name), sorted below: oldest first per emoji.
        let mut rows = Vec::with_capacity(reply.len() / 2);
        for pair in reply[1..].chunks(2) {
            let (field, value) = (text(&pair[0])?, text(&pair[1])?);
            let (Some((e, who)), Some((ts, name))) = (field.split_once(' '), value.split_once('|'))
            else {
                return Err(corrupt("reactor", field));
            };
            let ts: u64 = ts
                .parse()
                .map_err(|_| corrupt("reactor time", value.clone()))?;
            let name = UserName::parse(name).map_err(|e| corrupt("reactor name", e.to_string()))?;
            rows.push((emoji(e)?, ts, who.to_owned(), name));
        }
        rows.sort_by(|a, b| (&a.0, a.1, &a.2).cmp(&(&b.0, b.1, &b.2)));
        let mut book = ReactionBook::default();
        for (e, _, who, name) in rows {
            book.push(e, Reactor { key: who, name });
        }
        Ok(Some(book.reactors(key)))
    }
}
