//! Every way the server closes a socket: the code, the reason it sends, and what a
//! client should do about it, in one table (`docs/protocol.md`, "Close codes").
//!
//! The session picks one of these and never spells a code or a reason itself. Every
//! close but 1009 is answered the same way by the browser's driver: reconnect with
//! backoff and resume, which is what [`Advice`] says for each.

/// A close the server sends. The code is on the wire; the reason is for people.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Close {
    /// A frame over [`crate::protocol::MAX_FRAME_BYTES`] (RFC 6455 "message too big").
    TooBig,
    /// The connection's outbound queue overflowed: it read too slowly to keep up.
    SlowConsumer,
    /// The peer was silent (no frame, no pong) for the idle timeout (RFC 6455 "going
    /// away").
    Idle,
    /// The server is stopping or restarting.
    ServerRestart,
    /// A joined room's history was replaced (its epoch changed) under the connection.
    HistoryReset,
    /// The store failed in the middle of a replay that `joined` announced as complete:
    /// better a reconnect than a gap.
    ReplayFailed,
}

/// What a client should do after a close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advice {
    /// Reconnect (with backoff) and resume with `since` + `epoch`: nothing is lost.
    Resume,
    /// Reconnect and rejoin; the history it knew may be gone (`joined` says
    /// `recovered: false`, then reload).
    Rejoin,
    /// Do not send that again: the same frame would close the connection again. The
    /// client may still reconnect for everything else.
    FixRequest,
}

impl Close {
    /// Every close, for tables and tests.
    pub const ALL: [Close; 6] = [
        Close::TooBig,
        Close::SlowConsumer,
        Close::Idle,
        Close::ServerRestart,
        Close::HistoryReset,
        Close::ReplayFailed,
    ];

    /// The close code on the wire.
    pub const fn code(self) -> u16 {
        match self {
            Close::TooBig => 1009,
            Close::SlowConsumer => 4008,
            Close::Idle => 1001,
            Close::ServerRestart | Close::HistoryReset => 1012,
            Close::ReplayFailed => 1011,
        }
    }

    /// The close frame's reason text.
    pub const fn reason(self) -> &'static str {
        match self {
            Close::TooBig => "message too big",
            Close::SlowConsumer => "slow consumer",
            Close::Idle => "no answer to pings",
            Close::ServerRestart => "server restarting",
            Close::HistoryReset => "room history was reset",
            Close::ReplayFailed => "history unavailable during replay",
        }
    }

    /// What a client should do.
    pub const fn advice(self) -> Advice {
        match self {
            Close::TooBig => Advice::FixRequest,
            Close::SlowConsumer | Close::Idle | Close::ServerRestart | Close::ReplayFailed => {
                Advice::Resume
            }
            Close::HistoryReset => Advice::Rejoin,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_reasons_are_the_contracts() {
        let table: Vec<(u16, &str)> = Close::ALL.iter().map(|c| (c.code(), c.reason())).collect();
        assert_eq!(
            table,
            vec![
                (1009, "message too big"),
                (4008, "slow consumer"),
                (1001, "no answer to pings"),
                (1012, "server restarting"),
                (1012, "room history was reset"),
                (1011, "history unavailable during replay"),
            ]
        );
    }

    #[test]
    fn only_a_too_big_frame_is_the_clients_to_fix() {
        for c in Close::ALL {
            assert_eq!(
                c.advice() == Advice::FixRequest,
                c == Close::TooBig,
                "{c:?}"
            );
        }
    }

    #[test]
    fn reasons_fit_a_close_frame() {
        // RFC 6455: a close frame's payload is at most 125 bytes, 2 of them the code.
        for c in Close::ALL {
            assert!(c.reason().len() <= 123, "{c:?}");
        }
    }
}
