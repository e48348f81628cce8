//! WebSocket frame headers (RFC 6455 §5.2): parsing what a client sends, encoding what
//! the server sends. Pure functions over bytes, so every rule is unit-tested here.

use super::SocketError;

/// The longest header a server frame needs (no mask, 64-bit length).
pub const MAX_SERVER_HEADER: usize = 10;

/// The longest payload a control frame (close, ping, pong) may carry.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// What a frame carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpCode {
    /// The next fragment of a text or binary message.
    Continuation,
    /// A UTF-8 message (or its first fragment).
    Text,
    /// A binary message (or its first fragment).
    Binary,
    /// The closing handshake.
    Close,
    /// A ping, answered with a pong carrying the same bytes.
    Ping,
    /// The answer to a ping (or an unsolicited heartbeat).
    Pong,
}

impl OpCode {
    fn from_bits(bits: u8) -> Option<Self> {
        Some(match bits {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }

    /// Close, ping and pong: never fragmented, at most 125 bytes, allowed between the
    /// fragments of a message.
    pub fn is_control(self) -> bool {
        matches!(self, Self::Close | Self::Ping | Self::Pong)
    }
}

/// A client frame's header, checked against the rules a server must enforce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientHeader {
    /// The last fragment of its message.
    pub fin: bool,
    /// What it carries.
    pub opcode: OpCode,
    /// The key its payload is masked with (clients always mask).
    pub mask: [u8; 4],
    /// Its payload's length in bytes, as declared.
    pub len: u64,
    /// How many bytes the header itself took.
    pub header_len: usize,
}

/// Parses the header at the start of `buf`: `Ok(None)` when more bytes are needed.
/// Refuses what no correct client sends: reserved bits (no extension is negotiated), an
/// unknown opcode, an unmasked frame, a 64-bit length with its top bit set, a fragmented
/// or oversized control frame.
pub fn parse_client_header(buf: &[u8]) -> Result<Option<ClientHeader>, SocketError> {
    let [b0, b1, ..] = *buf else { return Ok(None) };
    if b0 & 0x70 != 0 {
        return Err(SocketError::Protocol("reserved bits set"));
    }
    let opcode = OpCode::from_bits(b0 & 0x0F).ok_or(SocketError::Protocol("unknown opcode"))?;
    let fin = b0 & 0x80 != 0;
    if b1 & 0x80 == 0 {
        return Err(SocketError::Protocol("unmasked client frame"));
    }
    let (len, len_bytes) = match b1 & 0x7F {
        126 => {
            let Some(b) = buf.get(2..4) else {
                return Ok(None);
            };
            (u64::from(u16::from_be_bytes([b[0], b[1]])), 2)
        }
        127 => {
            let Some(b) = buf.get(2..10) else {
                return Ok(None);
            };
            let mut be = [0; 8];
            be.copy_from_slice(b);
            let len = u64::from_be_bytes(be);
            if len >> 63 != 0 {
                return Err(SocketError::Protocol("payload length with its top bit set"));
            }
            (len, 8)
        }
        short => (u64::from(short), 0),
    };
    if opcode.is_control() && (!fin || len > MAX_CONTROL_PAYLOAD as u64) {
        return Err(SocketError::Protocol(
            "fragmented or oversized control frame",
        ));
    }
    let mask_at = 2 + len_bytes;
    let Some(m) = buf.get(mask_at..mask_at + 4) else {
        return Ok(None);
    };
    Ok(Some(ClientHeader {
        fin,
        opcode,
        mask: [m[0], m[1], m[2], m[3]],
        len,
        header_len: mask_at + 4,
    }))
}

/// Unmasks a client payload in place.
pub fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    let key = u32::from_ne_bytes(mask);
    let mut words = payload.chunks_exact_mut(4);
    for w in &mut words {
        let v = u32::from_ne_bytes([w[0], w[1], w[2], w[3]]) ^ key;
        w.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in words.into_remainder().iter_mut().enumerate() {
        *b ^= mask[i];
    }
}

/// The header of a server frame (final, unmasked) for a payload of `len` bytes: the
/// bytes and how many of them are used.
pub fn server_header(opcode: OpCode, len: usize) -> ([u8; MAX_SERVER_HEADER], u8) {
    let mut h = [0; MAX_SERVER_HEADER];
    h[0] = 0x80 | opcode.bits();
    let used = if len < 126 {
        h[1] = len as u8;
        2
    } else if let Ok(short) = u16::try_from(len) {
        h[1] = 126;
        h[2..4].copy_from_slice(&short.to_be_bytes());
        4
    } else {
        h[1] = 127;
        h[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    };
    (h, used)
}

/// Whether a close code may appear in a close frame on the wire (RFC 6455 §7.4: 1005,
/// 1006 and 1015 are for reporting only; 1016–2999 are reserved; 3000–4999 are for
/// libraries and applications).
pub fn close_code_allowed(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(first: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        let mut out = vec![first];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n <= 0xFFFF => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        let mut body = payload.to_vec();
        unmask(&mut body, mask);
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn a_masked_text_frame_parses_and_unmasks() {
        let wire = masked(0x81, b"hello, world", [1, 2, 3, 4]);
        let h = parse_client_header(&wire).unwrap().unwrap();
        assert_eq!(
            (h.fin, h.opcode, h.len, h.header_len),
            (true, OpCode::Text, 12, 6)
        );
        let mut body = wire[h.header_len..].to_vec();
        unmask(&mut body, h.mask);
        assert_eq!(body, b"hello, world");
    }

    #[test]
    fn lengths_of_16_and_64_bits_parse() {
        let wire = masked(0x82, &[7; 300], [9, 9, 9, 9]);
        let h = parse_client_header(&wire).unwrap().unwrap();
        assert_eq!((h.len, h.header_len), (300, 8));
        let wire = masked(0x82, &[7; 70_000], [9, 9, 9, 9]);
        let h = parse_client_header(&wire).unwrap().unwrap();
        assert_eq!((h.len, h.header_len), (70_000, 14));
    }

    #[test]
    fn a_partial_header_asks_for_more_bytes() {
        let wire = masked(0x81, &[b'x'; 300], [1, 2, 3, 4]);
        for cut in 0..8 {
            assert_eq!(
                parse_client_header(&wire[..cut]).unwrap(),
                None,
                "cut at {cut}"
            );
        }
        assert!(parse_client_header(&wire[..8]).unwrap().is_some());
    }

    #[test]
    fn what_no_correct_client_sends_is_a_protocol_error() {
        let bad: [(&[u8], &str); 6] = [
            (&[0xC1, 0x80, 0, 0, 0, 0], "reserved bit"),
            (&[0x83, 0x80, 0, 0, 0, 0], "opcode 3"),
            (&[0x81, 0x00], "unmasked"),
            (&[0x09, 0x80, 0, 0, 0, 0], "fragmented ping"),
            (&[0x88, 0xFE, 0, 126, 0, 0, 0, 0], "126-byte close"),
            (
                &[0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                "top length bit",
            ),
        ];
        for (wire, what) in bad {
            assert!(
                matches!(parse_client_header(wire), Err(SocketError::Protocol(_))),
                "{what}"
            );
        }
    }

    #[test]
    fn server_headers_use_the_shortest_length() {
        assert_eq!(
            server_header(OpCode::Text, 5),
            ([0x81, 5, 0, 0, 0, 0, 0, 0, 0, 0], 2)
        );
        let (h, n) = server_header(OpCode::Text, 126);
        assert_eq!(&h[..n as usize], &[0x81, 126, 0, 126]);
        let (h, n) = server_header(OpCode::Binary, 65_536);
        assert_eq!(&h[..n as usize], &[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
        let (h, n) = server_header(OpCode::Close, 2);
        assert_eq!(&h[..n as usize], &[0x88, 2]);
    }

    #[test]
    fn unmasking_twice_gives_the_bytes_back_at_every_length() {
        for len in 0..13 {
            let original: Vec<u8> = (0..len as u8).collect();
            let mut b = original.clone();
            unmask(&mut b, [0xAA, 0x55, 0x0F, 0xF0]);
            if len > 0 {
                assert_ne!(b, original);
            }
            unmask(&mut b, [0xAA, 0x55, 0x0F, 0xF0]);
            assert_eq!(b, original);
        }
    }

    #[test]
    fn close_codes_on_the_wire() {
        for ok in [1000, 1001, 1008, 1011, 1012, 3000, 4008, 4999] {
            assert!(close_code_allowed(ok), "{ok}");
        }
        for bad in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000] {
            assert!(!close_code_allowed(bad), "{bad}");
        }
    }
}
