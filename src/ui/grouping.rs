//! How the message list reads at a glance, as in Slack or Discord: consecutive messages by
//! one person within a few minutes sit under one header, a separator names each day
//! ("Today", "Yesterday", "Mon 23 Nov"), and everyone has an avatar colour of their own.
//!
//! Pure functions of the rows and the reader's time zone, so the rules have unit tests
//! and the server (which renders in UTC) and the browser agree until the browser switches
//! to the reader's zone after hydration.

use crate::client::clock::{civil_from_days as civil, MONTHS};
use crate::client::Line;

/// Messages this close to the previous one by the same person join its group.
const GROUP_GAP_MS: u64 = 5 * 60 * 1000;
const DAY_MS: i64 = 86_400_000;
const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];

/// Where one row stands in the list: a day separator above it, and whether it continues
/// the previous row's group (no header of its own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// The day's label when this row is the first of its day.
    pub day: Option<String>,
    /// It continues the group above: same person, same day, within a few minutes.
    pub continued: bool,
}

/// The reader's offset from UTC in milliseconds at a moment (east positive); `0` on the
/// server and before hydration.
pub type Zone = fn(u64) -> i64;

/// UTC, as the server renders it.
pub fn utc_zone(_: u64) -> i64 {
    0
}

/// The browser's zone (UTC on the server), daylight saving included.
pub fn local_zone(ts_ms: u64) -> i64 {
    #[cfg(feature = "hydrate")]
    {
        let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ts_ms as f64));
        -(d.get_timezone_offset() as i64) * 60_000
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ts_ms;
        0
    }
}

/// The number of the day a moment falls on in the zone (days since 1970-01-01).
fn day_number(ts_ms: u64, zone: Zone) -> i64 {
    (ts_ms as i64 + zone(ts_ms)).div_euclid(DAY_MS)
}

/// A day's label seen from `today` (both day numbers in the reader's zone); without a
/// `today` (the server's render and the browser's hydration of it, which must agree
/// whatever the two clocks say), the full date.
pub fn day_label(day: i64, today: Option<i64>) -> String {
    let (year, month, dom) = civil(day);
    let weekday = WEEKDAYS[day.rem_euclid(7) as usize];
    let month = MONTHS[(month - 1) as usize];
    match today.map(|t| (t - day, civil(t).0)) {
        Some((0, _)) => "Today".to_owned(),
        Some((1, _)) => "Yesterday".to_owned(),
        Some((_, this_year)) if this_year == year => format!("{weekday} {dom} {month}"),
        _ => format!("{weekday} {dom} {month} {year}"),
    }
}

/// Whether two rows were written by the same person: the same user id when signed in, the
/// same name between guests (a guest and a user of one name are two people).
fn same_author(a: &Line, b: &Line) -> bool {
    match (&a.user, &b.user) {
        (Some(x), Some(y)) => x == y,
        (None, None) => a.from == b.from && a.guest == b.guest,
        _ => false,
    }
}

/// Places every row: day separators and groups, in the reader's `zone`, `now` deciding
/// what "Today" is (without it, days get their full dates).
pub fn place(lines: &[Line], now_ms: Option<u64>, zone: Zone) -> Vec<Placement> {
    let today = now_ms.map(|now| day_number(now, zone));
    let mut out = Vec::with_capacity(lines.len());
    let mut prev: Option<&Line> = None;
    for line in lines {
        let day = day_number(line.ts, zone);
        let new_day = prev.is_none_or(|p| day_number(p.ts, zone) != day);
        let continued = !new_day
            && prev.is_some_and(|p| {
                same_author(p, line)
                    && line.ts.saturating_sub(p.ts) <= GROUP_GAP_MS
                    && line.ts >= p.ts
            });
        out.push(Placement {
            day: new_day.then(|| day_label(day, today)),
            continued,
        });
        prev = Some(line);
    }
    out
}

/// A hue (0–359) for a person's avatar: the user id when signed in, else the name, so
/// one person keeps one colour everywhere. FNV-1a, spread over 18 well-separated hues.
pub fn avatar_hue(line: &Line) -> u32 {
    let key = line
        .user
        .as_ref()
        .map_or_else(|| format!("guest:{}", line.from), |u| u.to_string());
    let mut h: u32 = 0x811c_9dc5;
    for b in key.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h % 18) * 20
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::LineState;
    use crate::protocol::{Body, ClientId, Content, UserId, UserName};

    const MIN: u64 = 60_000;
    /// 2026-11-24 (a Tuesday) 17:35 UTC.
    const NOW: u64 = 1_795_541_700_000;

    fn line(name: &str, user: Option<&str>, ts: u64) -> Line {
        Line {
            client_id: ClientId::parse("c1").unwrap(),
            seq: Some(1),
            from: UserName::parse(name).unwrap(),
            content: Content::text(Body::parse("hi").unwrap()),
            ts,
            state: LineState::Sent,
            guest: user.is_none(),
            user: user.map(|u| UserId::parse(u).unwrap()),
            reply_to: None,
            reactions: Default::default(),
        }
    }

    #[test]
    fn days_are_named_as_people_say_them() {
        let day = day_number(NOW, utc_zone);
        let today = Some(day);
        assert_eq!(day_label(day, today), "Today");
        assert_eq!(day_label(day - 1, today), "Yesterday");
        assert_eq!(day_label(day - 2, today), "Sun 22 Nov");
        assert_eq!(day_label(day - 400, today), "Mon 20 Oct 2025");
        assert_eq!(day_label(0, today), "Thu 1 Jan 1970");
        assert_eq!(
            day_label(day, None),
            "Tue 24 Nov 2026",
            "no clock: the full date"
        );
    }

    #[test]
    fn one_person_within_minutes_is_one_group() {
        let rows = [
            line("ann", Some("u1"), NOW - 10 * MIN),
            line("ann", Some("u1"), NOW - 9 * MIN),
            line("ann", Some("u1"), NOW - 3 * MIN), // 6 minutes later: a new header
            line("bob", Some("u2"), NOW - 2 * MIN),
            line("bob", None, NOW - MIN), // a guest named like a user is someone else
            line("bob", None, NOW),
        ];
        let continued: Vec<bool> = place(&rows, Some(NOW), utc_zone)
            .iter()
            .map(|p| p.continued)
            .collect();
        assert_eq!(continued, [false, true, false, false, false, true]);
    }

    #[test]
    fn a_new_day_has_a_separator_and_a_header() {
        let yesterday_late = NOW - 17 * 60 * MIN - 36 * MIN; // 23:59 the day before
        let rows = [
            line("ann", Some("u1"), yesterday_late - 3 * 86_400_000),
            line("ann", Some("u1"), yesterday_late),
            line("ann", Some("u1"), yesterday_late + 2 * MIN), // 00:01 today
        ];
        let placed = place(&rows, Some(NOW), utc_zone);
        let days: Vec<Option<&str>> = placed.iter().map(|p| p.day.as_deref()).collect();
        assert_eq!(days, [Some("Fri 20 Nov"), Some("Yesterday"), Some("Today")]);
        assert!(placed.iter().all(|p| !p.continued));
    }

    #[test]
    fn the_zone_moves_the_day_boundary() {
        // 23:00 UTC is already tomorrow two hours east.
        fn east(_: u64) -> i64 {
            2 * 3_600_000
        }
        let at = NOW + 5 * 60 * MIN + 25 * MIN; // 23:00 UTC
        assert_eq!(day_number(at, utc_zone), day_number(NOW, utc_zone));
        assert_eq!(day_number(at, east), day_number(NOW, utc_zone) + 1);
    }

    #[test]
    fn a_person_keeps_one_colour() {
        let a = line("ann", Some("u1"), NOW);
        let renamed = line("annie", Some("u1"), NOW);
        assert_eq!(avatar_hue(&a), avatar_hue(&renamed));
        let hues: std::collections::HashSet<u32> = ["ann", "bob", "cy", "dee", "eve", "fay"]
            .iter()
            .map(|n| avatar_hue(&line(n, None, NOW)))
            .collect();
        assert!(hues.len() >= 4, "names spread over the hues: {hues:?}");
        assert!(hues.iter().all(|h| *h < 360 && h % 20 == 0));
    }
}
