//! The WebSocket upgrade's `Origin` check: a page on another site must not open a socket
//! to Chorus in its visitor's name (cross-site WebSocket hijacking), while clients that
//! are not browsers (bots, CLIs, load tools), which send no `Origin`, are welcome.

/// Whether an upgrade with this `Origin` may proceed. Allowed: no `Origin`; an origin
/// whose `host[:port]` is the request's own `Host`; an origin on the allow-list (exact
/// match of `scheme://host[:port]`, case-insensitive, or `*` for any).
pub fn origin_allowed(origin: Option<&str>, host: Option<&str>, allow: &[String]) -> bool {
    let Some(origin) = origin.map(str::trim) else {
        return true;
    };
    let normalized = origin.trim_end_matches('/').to_ascii_lowercase();
    if allow
        .iter()
        .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(&normalized))
    {
        return true;
    }
    let Some((_, authority)) = normalized.split_once("://") else {
        return false; // `null` (sandboxed frames, file pages) or garbage.
    };
    host.is_some_and(|h| h.trim().eq_ignore_ascii_case(authority))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_host_and_no_origin_pass_foreign_fails() {
        let none: [String; 0] = [];
        assert!(origin_allowed(None, Some("chat.example:3000"), &none));
        assert!(origin_allowed(
            Some("http://chat.example:3000"),
            Some("chat.example:3000"),
            &none
        ));
        assert!(origin_allowed(
            Some("https://Chat.Example"),
            Some("chat.example"),
            &none
        ));
        assert!(!origin_allowed(
            Some("https://evil.example"),
            Some("chat.example"),
            &none
        ));
        assert!(!origin_allowed(
            Some("http://chat.example:3001"),
            Some("chat.example:3000"),
            &none
        ));
        assert!(!origin_allowed(Some("null"), Some("chat.example"), &none));
        assert!(!origin_allowed(Some("http://chat.example"), None, &none));
    }

    #[test]
    fn the_allow_list_admits_named_origins() {
        let allow = vec!["https://app.example".to_string()];
        assert!(origin_allowed(
            Some("https://app.example/"),
            Some("chat.example"),
            &allow
        ));
        assert!(!origin_allowed(
            Some("https://other.example"),
            Some("chat.example"),
            &allow
        ));
        assert!(origin_allowed(
            Some("https://anything.example"),
            Some("chat.example"),
            &["*".to_string()]
        ));
    }
}
