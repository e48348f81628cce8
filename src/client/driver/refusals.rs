//! Errors from the server, and the user's messages it refused for now: which are retried
//! (one at a time, paced by `retry_after_ms`, else an exponential backoff), which are
//! marked failed, which become a notice, and which mean "join again".

use super::effect::{Effect, MAX_BACKOFF_MS, RETRY_PACE_MS};
use super::{Driver, Link};
use crate::client::timeline::{Edit, Timeline};
use crate::protocol::{ClientId, ErrorCode};

impl Driver {
    pub(super) fn on_error(
        &mut self,
        code: ErrorCode,
        message: String,
        reference: Option<String>,
        retry_after_ms: Option<u64>,
        timeline: &Timeline,
        out: &mut Vec<Effect>,
    ) {
        // The refused frame was one of the user's messages still waiting to be stored.
        let unsent = reference
            .as_deref()
            .filter(|r| timeline.is_unsent(r))
            .and_then(|r| ClientId::parse(r).ok());
        if reference.is_none() && self.token_refused(code, out) {
            out.push(Effect::Notice(Some(message)));
            return;
        }
        match (unsent, code) {
            (Some(client_id), ErrorCode::RateLimited | ErrorCode::Unavailable) => {
                // Still pending: retry it later, after the server's hint.
                if !self.refused.contains(&client_id) {
                    self.refused.push_back(client_id);
                }
                let delay = retry_after_ms.map_or_else(
                    || (1000.0 * 2f64.powi(self.refusals.min(4) as i32)).min(MAX_BACKOFF_MS),
                    |ms| ms as f64,
                );
                self.refusals += 1;
                self.schedule_retry(delay, out);
            }
            // The server does not count this connection in the room (or could not join
            // it): reconnect, which joins again and re-sends what is unsent.
            (_, ErrorCode::NotJoined) | (None, ErrorCode::Unavailable) => {
                out.push(Effect::Notice(Some(message)));
                if matches!(self.link, Link::Connecting | Link::Open) {
                    self.link = Link::Closing;
                    out.push(Effect::CloseSocket);
                }
            }
            (Some(client_id), _) => out.push(Effect::Timeline(Edit::Fail {
                client_id,
                reason: message,
            })),
            (None, _) => out.push(Effect::Notice(Some(message))),
        }
    }

    /// The retry timer: re-send the oldest refused message, and pace the rest.
    pub(super) fn retry_next(&mut self, timeline: &Timeline, out: &mut Vec<Effect>) {
        self.retry_scheduled = false;
        if let Some(client_id) = self.refused.pop_front() {
            if let Some(outgoing) = timeline.unsent_one(&client_id) {
                self.send(self.publish(outgoing), out);
            }
        }
        if !self.refused.is_empty() {
            self.schedule_retry(RETRY_PACE_MS, out);
        }
    }

    fn schedule_retry(&mut self, delay_ms: f64, out: &mut Vec<Effect>) {
        if !self.retry_scheduled {
            self.retry_scheduled = true;
            out.push(Effect::RetryIn(delay_ms));
        }
    }
}
