//! The user's messages and history pages: what is shown at once, and the frames that
//! carry them (sent again after a reconnect or a refusal, from the timeline).

use super::{Driver, Effect};
use crate::client::timeline::{Edit, Outgoing, Timeline};
use crate::protocol::{Body, ClientFrame, ClientId, HistoryLimit};

impl Driver {
    /// The user sends `body` (in reply to `reply_to`): shown as pending at once, sent now
    /// if the socket is open, re-sent after joins until acked. `now_ms` is when it was
    /// typed.
    pub fn send_message(
        &mut self,
        body: Body,
        reply_to: Option<u64>,
        client_id: ClientId,
        now_ms: u64,
    ) -> Vec<Effect> {
        let mut out = vec![Effect::Timeline(Edit::AddPending {
            client_id: client_id.clone(),
            from: self.speaking_as(),
            body: body.clone(),
            ts: now_ms,
            reply_to,
        })];
        self.send(
            self.publish(Outgoing {
                client_id,
                body,
                reply_to,
            }),
            &mut out,
        );
        out
    }

    /// The user asks for the page of history before the oldest message shown.
    pub fn load_older(&mut self, timeline: &Timeline) -> Vec<Effect> {
        let mut out = vec![];
        self.send(self.history(timeline.first_seq()), &mut out);
        out
    }

    /// The `publish` of one of the user's messages.
    pub(super) fn publish(&self, out: Outgoing) -> ClientFrame {
        ClientFrame::Publish {
            room: self.room.clone(),
            body: out.body,
            client_id: out.client_id,
            reply_to: out.reply_to,
        }
    }

    /// A `history` request for the page before `before` (the newest without).
    pub(super) fn history(&self, before: Option<u64>) -> ClientFrame {
        ClientFrame::History {
            room: self.room.clone(),
            before,
            limit: HistoryLimit::default(),
        }
    }
}
