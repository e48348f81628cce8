//! The message list a room page shows, as plain data (no signals, no DOM), so its rules
//! are unit-tested natively: confirmed messages in seq order without duplicates, then the
//! user's pending ones in the order they were typed.
//!
//! Rows keep the protocol's types (`ClientId`, `UserName`, `Body`): what came off the wire
//! valid, or what the user typed and the composer parsed, is never re-parsed to be sent
//! again. The socket's [driver](crate::client::driver) changes the list only through an
//! [`Edit`], so its decisions are tested as data.

use crate::protocol::{Body, ClientId, Content, Message, Reactions, UserId, UserName};

/// Where one of the user's own messages stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineState {
    /// Sent (or waiting to be sent) and not yet acked.
    Pending,
    /// Stored by the server.
    Sent,
    /// Refused; the text says why.
    Failed(String),
}

/// One row of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// The idempotency key: unique within a room, so it also identifies the row.
    pub client_id: ClientId,
    /// The stored seq; `None` while pending.
    pub seq: Option<u64>,
    /// Sender's name.
    pub from: UserName,
    /// Its text, verbatim (rendered as text, never as HTML), maybe edited; or that it
    /// was deleted.
    pub content: Content,
    /// Milliseconds since the Unix epoch.
    pub ts: u64,
    /// Delivery state.
    pub state: LineState,
    /// Stored without a `user`: a guest (or a bot) whose name anyone could use. False
    /// while pending (the server decides).
    pub guest: bool,
    /// Its author's user id, when stored with one: who may edit or delete it.
    pub user: Option<UserId>,
    /// The seq of the message it answers.
    pub reply_to: Option<u64>,
    /// Its reactions' counts. Not part of [`Line::key`]: a reaction redraws the chips
    /// under a row, not the row (which may hold an edit box or the reader's focus).
    pub reactions: Reactions,
}

/// A message of the user's to send (again): what a `publish` carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// Its idempotency key.
    pub client_id: ClientId,
    /// The text.
    pub body: Body,
    /// The message it answers.
    pub reply_to: Option<u64>,
}

impl Line {
    /// A key that changes whenever the row must be drawn again.
    pub fn key(&self) -> String {
        let state = match &self.state {
            LineState::Pending => "p",
            LineState::Sent => "s",
            LineState::Failed(_) => "f",
        };
        let content = match &self.content {
            Content::Deleted { .. } => "d".to_owned(),
            Content::Text { edited_ts, .. } => edited_ts.map_or(String::new(), |t| t.to_string()),
        };
        // An acked row of one's own learns its author from the echo that follows.
        let author = match (&self.user, self.guest) {
            (Some(_), _) => "u",
            (None, true) => "g",
            (None, false) => "-",
        };
        format!(
            "{}:{}:{}:{}:{}",
            self.client_id.as_str(),
            self.seq.unwrap_or(0),
            state,
            author,
            content
        )
    }

    /// What to send again for a row of the user's that has text.
    fn outgoing(&self) -> Option<Outgoing> {
        Some(Outgoing {
            client_id: self.client_id.clone(),
            body: self.body()?.clone(),
            reply_to: self.reply_to,
        })
    }

    /// Its text, unless it was deleted.
    pub fn body(&self) -> Option<&Body> {
        match &self.content {
            Content::Text { body, .. } => Some(body),
            Content::Deleted { .. } => None,
        }
    }

    fn from_message(m: &Message) -> Self {
        Self {
            client_id: m.client_id.clone(),
            seq: Some(m.seq),
            from: m.from.clone(),
            content: m.content.clone(),
            ts: m.ts,
            state: LineState::Sent,
            guest: m.user.is_none(),
            user: m.user.clone(),
            reply_to: m.reply_to,
            reactions: m.reactions.clone(),
        }
    }
}

/// One change to the list, as the socket's driver decides it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    /// The user typed a message: show it as pending.
    AddPending {
        /// Its idempotency key.
        client_id: ClientId,
        /// The user's name.
        from: UserName,
        /// The text.
        body: Body,
        /// When it was typed, in milliseconds since the Unix epoch.
        ts: u64,
        /// The message it answers.
        reply_to: Option<u64>,
    },
    /// Stored messages arrived (live, replayed or from history).
    Insert(Vec<Message>),
    /// The server stored the user's message as `seq`.
    Ack {
        /// The message's idempotency key.
        client_id: ClientId,
        /// Where it is stored.
        seq: u64,
    },
    /// The server refused the user's message for good.
    Fail {
        /// The message's idempotency key.
        client_id: ClientId,
        /// Why, for the user.
        reason: String,
    },
    /// The history the list came from is gone: forget it, keep what is unsent.
    ForgetConfirmed,
    /// A stored message was edited or deleted (`edited` / `deleted` frames).
    Amend {
        /// The message.
        seq: u64,
        /// What it holds now.
        content: Content,
    },
    /// A stored message's reactions changed (`reactions` frames).
    React {
        /// The message.
        seq: u64,
        /// Its counts now.
        counts: Reactions,
    },
}

/// Confirmed lines sorted by seq, followed by unconfirmed ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline {
    lines: Vec<Line>,
    /// The newest seq received as a message: the point to resume from. An `ack` does not
    /// move it, because messages before the acked one may still be on their way.
    resume: Option<u64>,
}

impl Timeline {
    /// A list that starts from a page the server rendered: its messages, and `last_seq`
    /// as the point to resume from, so the socket continues right after the page.
    pub fn starting_from(messages: &[Message], last_seq: u64) -> Self {
        let mut t = Self::default();
        for m in messages {
            t.insert(m);
        }
        t.resume = t.resume.max(Some(last_seq));
        t
    }

    /// Applies one of the driver's edits.
    pub fn apply(&mut self, edit: Edit) {
        match edit {
            Edit::AddPending {
                client_id,
                from,
                body,
                ts,
                reply_to,
            } => self.add_pending(
                Outgoing {
                    client_id,
                    body,
                    reply_to,
                },
                from,
                ts,
            ),
            Edit::Insert(messages) => {
                for m in &messages {
                    self.insert(m);
                }
            }
            Edit::Ack { client_id, seq } => self.ack(&client_id, seq),
            Edit::Fail { client_id, reason } => self.fail(&client_id, reason),
            Edit::ForgetConfirmed => self.forget_confirmed(),
            Edit::Amend { seq, content } => self.amend(seq, content),
            Edit::React { seq, counts } => {
                if let Some(line) = self.line_mut(seq) {
                    line.reactions = counts;
                }
            }
        }
    }

    /// The confirmed row with `seq`, if it is loaded (confirmed rows are sorted by seq).
    pub fn line(&self, seq: u64) -> Option<&Line> {
        let confirmed = self.confirmed();
        let i = self.lines[..confirmed]
            .binary_search_by(|l| l.seq.cmp(&Some(seq)))
            .ok()?;
        self.lines.get(i)
    }

    fn line_mut(&mut self, seq: u64) -> Option<&mut Line> {
        let confirmed = self.confirmed();
        let i = self.lines[..confirmed]
            .binary_search_by(|l| l.seq.cmp(&Some(seq)))
            .ok()?;
        self.lines.get_mut(i)
    }

    /// How many rows at the top are confirmed (the rest are pending).
    fn confirmed(&self) -> usize {
        self.lines.iter().take_while(|l| l.seq.is_some()).count()
    }

    /// All rows, top to bottom.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// The `since` for a resume: the newest seq that arrived as a message.
    pub fn resume_seq(&self) -> Option<u64> {
        self.resume
    }

    /// The oldest confirmed seq: where "load older" continues.
    pub fn first_seq(&self) -> Option<u64> {
        self.lines.iter().filter_map(|l| l.seq).min()
    }

    /// Rows not yet stored and not refused: to send (again) after (re)connecting.
    pub fn unsent(&self) -> Vec<Outgoing> {
        self.lines
            .iter()
            .filter(|l| l.state == LineState::Pending)
            .filter_map(Line::outgoing)
            .collect()
    }

    /// Whether the user's message `client_id` is still waiting to be stored.
    pub fn is_unsent(&self, client_id: &str) -> bool {
        self.lines
            .iter()
            .any(|l| l.state == LineState::Pending && l.client_id.as_str() == client_id)
    }

    /// The user's unsent message `client_id`, to send again.
    pub fn unsent_one(&self, client_id: &ClientId) -> Option<Outgoing> {
        self.lines
            .iter()
            .find(|l| l.state == LineState::Pending && l.client_id == *client_id)
            .and_then(Line::outgoing)
    }

    /// Shows a message the user just typed, before the server has it.
    pub fn add_pending(&mut self, out: Outgoing, from: UserName, ts: u64) {
        self.lines.push(Line {
            client_id: out.client_id,
            seq: None,
            from,
            content: Content::text(out.body),
            ts,
            state: LineState::Pending,
            guest: false,
            user: None,
            reply_to: out.reply_to,
            reactions: Reactions::new(),
        });
    }

    /// Adds a stored message (live, replayed or from history). A pending row with the
    /// same client_id becomes that message; a seq already shown is ignored.
    pub fn insert(&mut self, m: &Message) {
        self.resume = self.resume.max(Some(m.seq));
        if let Some(line) = self.lines.iter_mut().find(|l| l.seq == Some(m.seq)) {
            // An acked row of the user's own, shown before its message arrived, learns
            // from the server who stored it (its user id is what allows Edit / Delete) and
            // when; a later copy (a replay or page read after an edit) may be newer.
            line.user = m.user.clone();
            line.guest = m.user.is_none();
            line.ts = m.ts;
            line.state = LineState::Sent;
            line.reply_to = m.reply_to;
            // Every copy of a stored message carries its reactions as they were when it
            // was read (a live one has none yet, and arrives before any reaction to it).
            line.reactions = m.reactions.clone();
            self.amend(m.seq, m.content.clone());
            return;
        }
        self.lines
            .retain(|l| !(l.seq.is_none() && l.client_id == m.client_id));
        let confirmed = self.lines.iter().take_while(|l| l.seq.is_some()).count();
        let at = self.lines[..confirmed].partition_point(|l| l.seq < Some(m.seq));
        self.lines.insert(at, Line::from_message(m));
    }

    /// The server stored the user's message as `seq`.
    pub fn ack(&mut self, client_id: &ClientId, seq: u64) {
        if self.lines.iter().any(|l| l.seq == Some(seq)) {
            // The message itself already arrived and replaced the pending row.
            self.lines
                .retain(|l| l.seq.is_some() || l.client_id != *client_id);
            return;
        }
        if let Some(pos) = self
            .lines
            .iter()
            .position(|l| l.seq.is_none() && l.client_id == *client_id)
        {
            let mut line = self.lines.remove(pos);
            line.seq = Some(seq);
            line.state = LineState::Sent;
            let confirmed = self.lines.iter().take_while(|l| l.seq.is_some()).count();
            let at = self.lines[..confirmed].partition_point(|l| l.seq < Some(seq));
            self.lines.insert(at, line);
        }
    }

    /// The server refused the user's message.
    pub fn fail(&mut self, client_id: &ClientId, reason: String) {
        if let Some(l) = self
            .lines
            .iter_mut()
            .find(|l| l.seq.is_none() && l.client_id == *client_id)
        {
            l.state = LineState::Failed(reason);
        }
    }

    /// A shown message now holds `content`: a deletion always wins (nothing undeletes),
    /// an edit only over an older text, so copies arriving out of order end on the newest.
    pub fn amend(&mut self, seq: u64, content: Content) {
        let Some(line) = self.lines.iter_mut().find(|l| l.seq == Some(seq)) else {
            return; // Not loaded: a page read later brings it as it now is.
        };
        let newer = match (&line.content, &content) {
            (Content::Deleted { .. }, _) => false,
            (_, Content::Deleted { .. }) => true,
            (Content::Text { edited_ts: old, .. }, Content::Text { edited_ts: new, .. }) => {
                new > old
            }
        };
        if newer {
            if matches!(content, Content::Deleted { .. }) {
                line.reactions = Reactions::new();
            }
            line.content = content;
        }
    }

    /// Forgets every confirmed row, keeping the user's unsent ones: the history they came
    /// from is not the server's any more (`recovered: false`).
    pub fn forget_confirmed(&mut self) {
        self.lines.retain(|l| l.seq.is_none());
        self.resume = None;
    }
}

#[cfg(test)]
#[path = "timeline_tests.rs"]
mod tests;
