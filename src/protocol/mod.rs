//! The wire protocol v1 and v1.1 (`docs/protocol.md`), shared by the browser and the server.
//!
//! This module is the one source of truth for frame shapes, names, limits and error codes.
//! It imports nothing from the server or the UI, so it compiles to wasm and to native alike.
//!
//! - [`close`]: every close code the server sends, its reason and what a client should do.
//! - [`names`]: validated newtypes (`RoomName`, `UserName`, `UserId`, `Body`, `ClientId`,
//!   `Epoch`, `Token`);
//!   a value of these types is valid by construction.
//! - [`frames`]: the frames themselves, [`ClientFrame`] and [`ServerFrame`];
//!   [`message`]: a stored message and its [`Content`] (text, edited, or deleted).
//! - [`decode`]: text → [`ClientFrame`], checking fields in the contract's order.
//! - [`error`]: [`ErrorCode`] and the decoding error [`ProtocolError`].
//! - [`reaction`]: [`Emoji`] and a message's [`Reactions`] counts.
//! - [`page`]: [`MessagesPage`], a page of history over HTTP (API and server rendering).

pub mod close;
pub mod decode;
pub mod error;
pub mod frames;
pub mod message;
pub mod names;
pub mod page;
pub mod presence;
pub mod reaction;

pub use close::{Advice, Close};
pub use decode::{decode_client_frame, DecodeError};
pub use error::{ErrorCode, ProtocolError};
pub use frames::{ClientFrame, HistoryLimit, JoinName, LeftReason, SanctionKind, ServerFrame};
pub use message::{Content, Message};
pub use names::{Body, ClientId, Epoch, RoomName, Token, UserId, UserName};
pub use page::MessagesPage;
pub use presence::{MembersLimit, MEMBERS_CAP};
pub use reaction::{Emoji, Reactions};

/// Largest inbound frame payload, in bytes; bigger ones close the socket with 1009.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
