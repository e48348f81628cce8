//! The WebSocket upgrade's `Origin` check: a page on another site must not open a socket
//! to Chorus in its visitor's name (cross-site WebSocket hijacking), while clients that
//! are not browsers (bots, CLIs, load tools), which send no `Origin`, are welcome.
//!
//! And the `Host` check on every request ([`AllowedHosts`]): a page on a domain that its
//! owner points at 127.0.0.1 (DNS rebinding) is "same origin" with a server on this
//! machine, so only the names the server is meant to be reached by are served.

/// The `Host` names this server answers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowedHosts {
    /// Any (a server on a public address without `--allowed-hosts`).
    Any,
    /// Only these, lower-case: a name matches any port, a `name:port` only that port.
    Only(Vec<String>),
}

impl AllowedHosts {
    /// What `--allowed-hosts` says; without it, a server listening on loopback answers
    /// only to `localhost`, `127.0.0.1` and `[::1]` (the usual rebinding target), one on
    /// another address to any name.
    pub fn from_config(configured: &[String], listen_on_loopback: bool) -> Self {
        if configured.iter().any(|h| h.trim() == "*") {
            return Self::Any;
        }
        if !configured.is_empty() {
            return Self::Only(
                configured
                    .iter()
                    .map(|h| h.trim().to_ascii_lowercase())
                    .collect(),
            );
        }
        if listen_on_loopback {
            Self::Only(vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()])
        } else {
            Self::Any
        }
    }

    /// Whether a request with this `Host` header is served. No `Host` (HTTP/1.0 tools)
    /// is treated as the server's own address.
    pub fn allows(&self, host: Option<&str>) -> bool {
        let Self::Only(names) = self else {
            return true;
        };
        let Some(host) = host.map(|h| h.trim().to_ascii_lowercase()) else {
            return true;
        };
        let name = match host.rsplit_once(':') {
            // `[::1]:3000` and `name:3000`; a bare `[::1]` has its colons inside brackets.
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) && !name.is_empty() => {
                name
            }
            _ => host.as_str(),
        };
        names.iter().any(|n| *n == host || *n == name)
    }
}

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
    fn hosts_on_loopback_are_only_the_local_names() {
        let local = AllowedHosts::from_config(&[], true);
        for ok in [
            "localhost:3000",
            "127.0.0.1:3000",
            "[::1]:3000",
            "LOCALHOST",
            "127.0.0.1",
        ] {
            assert!(local.allows(Some(ok)), "{ok}");
        }
        for bad in [
            "evil.example:3000",
            "evil.example",
            "localhost.evil.example:3000",
            "127.0.0.1.nip.io",
        ] {
            assert!(!local.allows(Some(bad)), "{bad}");
        }
        assert!(local.allows(None));
        let public = AllowedHosts::from_config(&[], false);
        assert!(public.allows(Some("anything.example")));
        let named =
            AllowedHosts::from_config(&["chat.example".into(), "other.example:8443".into()], false);
        assert!(named.allows(Some("chat.example:443")) && named.allows(Some("Chat.Example")));
        assert!(
            named.allows(Some("other.example:8443")) && !named.allows(Some("other.example:80"))
        );
        assert!(!named.allows(Some("evil.example")));
        assert_eq!(
            AllowedHosts::from_config(&["*".into()], true),
            AllowedHosts::Any
        );
    }

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
