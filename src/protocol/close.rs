//! Every way the server closes a socket: the code, the reason it sends, and what a
//! client should do about it, in one table (`docs/protocol.md`, "Close codes").
//!
//! The session picks one of these and never spells a code or a reason itself. Every
//! close but those for the client's own bad frames (1009, 1007, 1002) is answered the
//! same way by the browser's driver: reconnect with backoff and resume, which is what
//! [`Advice`] says for each.

/// A close the server sends. The code is on the wire; the reason is for people.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Close {
    /// A frame over [`crate::protocol::MAX_FRAME_BYTES`] (RFC 6455 "message too big").
    TooBig,
    /// A text frame that is not UTF-8 (RFC 6455 "invalid frame payload data").
    InvalidUtf8,
    /// A frame that breaks the WebSocket protocol itself (an unmasked frame, an unknown
    /// opcode, a fragmented control frame; RFC 6455 "protocol error").
    ProtocolError,
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
    /// The connection's identity expired (its token's `exp` passed without a fresh one)
    /// or was revoked (its session signed out): v1.1's 4001.
    Reauthenticate,
    /// The server's operator closed this connection (`/admin`): reconnect and resume, as
    /// after a restart (an extension: docs/protocol.md).
    Disconnected,
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
    /// Get a fresh identity (a new token from the application, or sign in again), then
    /// reconnect, authenticate and resume: nothing is lost.
    Reauthenticate,
}

impl Close {
    /// Every close, for tables and tests.
    pub const ALL: [Close; 10] = [
        Close::TooBig,
        Close::InvalidUtf8,
        Close::ProtocolError,
        Close::SlowConsumer,
        Close::Idle,
        Close::ServerRestart,
        Close::HistoryReset,
        Close::ReplayFailed,
        Close::Reauthenticate,
        Close::Disconnected,
    ];

    /// The close code on the wire.
    pub const fn code(self) -> u16 {
        match self {
            Close::TooBig => 1009,
            Close::InvalidUtf8 => 1007,
            Close::ProtocolError => 1002,
            Close::SlowConsumer => 4008,
            Close::Idle => 1001,
            Close::ServerRestart | Close::HistoryReset | Close::Disconnected => 1012,
            Close::ReplayFailed => 1011,
            Close::Reauthenticate => 4001,
        }
    }

    /// The close frame's reason text.
    pub const fn reason(self) -> &'static str {
        match self {
            Close::TooBig => "message too big",
            Close::InvalidUtf8 => "text frame is not UTF-8",
            Close::ProtocolError => "WebSocket protocol error",
            Close::SlowConsumer => "slow consumer",
            Close::Idle => "no answer to pings",
            Close::ServerRestart => "server restarting",
            Close::HistoryReset => "room history was reset",
            Close::ReplayFailed => "history unavailable during replay",
            Close::Reauthenticate => "identity expired; authenticate again",
            Close::Disconnected => "disconnected by the operator",
        }
    }

    /// What a client should do.
    pub const fn advice(self) -> Advice {
        match self {
            Close::TooBig | Close::InvalidUtf8 | Close::ProtocolError => Advice::FixRequest,
            Close::SlowConsumer
            | Close::Idle
            | Close::ServerRestart
            | Close::ReplayFailed
            | Close::Disconnected => Advice::Resume,
            Close::HistoryReset => Advice::Rejoin,
            Close::Reauthenticate => Advice::Reauthenticate,
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
                (1007, "text frame is not UTF-8"),
                (1002, "WebSocket protocol error"),
                (4008, "slow consumer"),
                (1001, "no answer to pings"),
                (1012, "server restarting"),
                (1012, "room history was reset"),
                (1011, "history unavailable during replay"),
                (4001, "identity expired; authenticate again"),
                (1012, "disconnected by the operator"),
            ]
        );
    }

    #[test]
    fn only_the_clients_own_bad_frames_are_its_to_fix() {
        for c in Close::ALL {
            let bad_frame = matches!(c, Close::TooBig | Close::InvalidUtf8 | Close::ProtocolError);
            assert_eq!(c.advice() == Advice::FixRequest, bad_frame, "{c:?}");
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
