//! Message times as people read them: `14:03` today, `23 Nov 14:03` before, with the year
//! once it is not this year's. In the reader's time zone in the browser; the server, which
//! does not know it, renders UTC and says so, and the browser switches after hydration.

/// Month names as labels show them.
pub(crate) const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A calendar moment, already in the zone it is shown in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Civil {
    year: i64,
    /// 1–12.
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
}

/// The label for a moment seen from `now` (both in the same zone).
fn label(at: Civil, now: Civil) -> String {
    let time = format!("{:02}:{:02}", at.hour, at.minute);
    let month = MONTHS[(at.month.clamp(1, 12) - 1) as usize];
    if (at.year, at.month, at.day) == (now.year, now.month, now.day) {
        time
    } else if at.year == now.year {
        format!("{} {month} {time}", at.day)
    } else {
        format!("{} {month} {} {time}", at.day, at.year)
    }
}

/// Milliseconds since the Unix epoch → UTC calendar fields, so the server needs no date
/// crate for one label.
fn utc(ts_ms: u64) -> Civil {
    let secs = (ts_ms / 1000) as i64;
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    Civil {
        year,
        month,
        day,
        hour: (rem / 3600) as u32,
        minute: ((rem % 3600) / 60) as u32,
    }
}

/// Days since 1970-01-01 → (year, month 1–12, day of month): Howard Hinnant's
/// `civil_from_days`. Shared with the list's day separators.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now() as u64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
}

/// The UTC label, as the server renders it (the same on both sides, for hydration).
pub fn clock_utc(ts_ms: u64, now_ms: u64) -> String {
    format!("{} UTC", label(utc(ts_ms), utc(now_ms)))
}

/// The label in the reader's zone (UTC on the server).
pub fn clock(ts_ms: u64) -> String {
    #[cfg(feature = "hydrate")]
    {
        let local = |ms: f64| {
            let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
            Civil {
                year: d.get_full_year() as i64,
                month: d.get_month() + 1,
                day: d.get_date(),
                hour: d.get_hours(),
                minute: d.get_minutes(),
            }
        };
        label(local(ts_ms as f64), local(js_sys::Date::now()))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        clock_utc(ts_ms, now_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_calendar_fields() {
        // 2026-11-24T17:35:00Z
        assert_eq!(
            utc(1_795_541_700_000),
            Civil {
                year: 2026,
                month: 11,
                day: 24,
                hour: 17,
                minute: 35
            }
        );
        assert_eq!(
            utc(0),
            Civil {
                year: 1970,
                month: 1,
                day: 1,
                hour: 0,
                minute: 0
            }
        );
        // A leap day.
        assert_eq!(utc(951_782_400_000).day, 29);
    }

    #[test]
    fn labels_say_as_much_as_needed() {
        let now = 1_795_541_700_000; // 24 Nov 2026 17:35 UTC
        assert_eq!(clock_utc(now - 60_000, now), "17:34 UTC");
        assert_eq!(clock_utc(now - 86_400_000, now), "23 Nov 17:35 UTC");
        assert_eq!(
            clock_utc(now - 400 * 86_400_000, now),
            "20 Oct 2025 17:35 UTC"
        );
    }
}
