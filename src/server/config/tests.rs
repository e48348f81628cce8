//! Configuration: defaults, flags, environment, TOML files, validation.

use super::*;

#[test]
fn defaults_match_the_contract() {
    let c = Config::parse_from(["chorus"]);
    assert_eq!(c.rate_per_sec, 10.0);
    assert_eq!(c.rate_burst, 20);
    assert_eq!(c.max_rooms, 16);
    assert_eq!(c.data_dir, PathBuf::from("./data"));
    assert_eq!(c.ping_secs, 20);
    assert_eq!(c.idle_timeout_secs, 60);
    assert_eq!(c.store, StoreKind::Sqlite);
    assert_eq!(c.history_cap, 10_000);
    assert_eq!(c.history_max_age, Duration::from_secs(30 * 86_400));
}

#[test]
fn a_config_file_fills_in_what_flags_do_not_say() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chorus.toml");
    std::fs::write(
        &file,
        "rate-per-sec = 5\nrate_burst = 7\nhistory-max-age = \"7d\"\n\
         allowed-origins = [\"https://a.example\", \"https://b.example\"]\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let c = Config::load_from(["chorus", "--config", path, "--rate-per-sec", "9"]).unwrap();
    assert_eq!(c.rate_per_sec, 9.0, "the flag wins");
    assert_eq!(c.rate_burst, 7, "the file fills in");
    assert_eq!(c.history_max_age, Duration::from_secs(7 * 86_400));
    assert_eq!(
        c.allowed_origins,
        vec!["https://a.example", "https://b.example"]
    );
    assert_eq!(c.max_rooms, 16, "the default stays");

    std::fs::write(&file, "rate-per-sec = -1\n").unwrap();
    let e = Config::load_from(["chorus", "--config", path]).unwrap_err();
    assert!(e.to_string().contains("rate-per-sec"), "{e}");
    std::fs::write(&file, "rate-per-minute = 1\n").unwrap();
    let e = Config::load_from(["chorus", "--config", path]).unwrap_err();
    assert!(e.to_string().contains("unknown option"), "{e}");
    std::fs::write(&file, "not toml [").unwrap();
    assert!(Config::load_from(["chorus", "--config", path]).is_err());
    let missing = dir.path().join("missing.toml");
    let e = Config::load_from(["chorus", "--config", missing.to_str().unwrap()]).unwrap_err();
    assert!(e.to_string().contains("missing.toml"), "{e}");
}

#[test]
fn retention_flags() {
    let c = Config::parse_from(["chorus", "--history-cap", "0", "--history-max-age", "0"]);
    let r = c.retention();
    assert_eq!((r.max_messages, r.max_age), (0, None));
    let c = Config::parse_from(["chorus", "--history-max-age", "12h"]);
    assert_eq!(c.retention().max_age, Some(Duration::from_secs(12 * 3600)));
    assert!(Config::try_parse_from(["chorus", "--history-max-age", "soon"]).is_err());
    assert!(Config::try_parse_from(["chorus", "--store", "postgres"]).is_err());
}

#[test]
fn idle_timeout_must_exceed_ping_interval() {
    assert!(Config::parse_from(["chorus"]).validate().is_ok());
    let c = Config::parse_from(["chorus", "--ping-secs", "30", "--idle-timeout-secs", "30"]);
    assert!(c.validate().unwrap_err().contains("--idle-timeout-secs"));
}

#[test]
fn bad_values_are_refused() {
    assert!(Config::try_parse_from(["chorus", "--rate-per-sec", "0"]).is_err());
    assert!(Config::try_parse_from(["chorus", "--rate-burst", "0"]).is_err());
    assert!(Config::try_parse_from(["chorus", "--addr", "nowhere"]).is_err());
}

#[test]
fn site_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("Leptos.toml");
    std::fs::write(
        &p,
        "output-name = \"x\"\nsite-root = \"site\"\nsite-addr = \"127.0.0.1:4000\"\n",
    )
    .unwrap();
    let o = site_options(&p, true).unwrap();
    assert_eq!(&*o.output_name, "x");
    assert_eq!(&*o.site_root, "site");
    assert_eq!(o.site_addr.port(), 4000);
    assert!(site_options(&dir.path().join("missing.toml"), true).is_err());
    assert!(site_options(&dir.path().join("missing.toml"), false).is_ok());
    std::fs::write(&p, "site-addr = 5").unwrap();
    assert!(site_options(&p, true).is_err());
}

#[test]
fn embed_origins_are_origins_and_nothing_else() {
    let c = Config::parse_from([
        "chorus",
        "--embed-origins",
        "https://App.example.com,http://127.0.0.1:8080,http://[::1]:9000,https://b.example:443",
    ]);
    assert_eq!(
        c.identity.embed_origins,
        [
            "https://app.example.com",
            "http://127.0.0.1:8080",
            "http://[::1]:9000",
            "https://b.example",
        ]
    );
    assert!(
        c.identity.validate().unwrap_err().contains("--jwt-secret"),
        "tokens are how an embed signs in"
    );
    for bad in [
        "app.example.com",
        "https://app.example.com/",
        "https://app.example.com/chat",
        "https://app.example.com:port",
        "ftp://app.example.com",
        "https://",
        "https://[::1]x",
        "*",
    ] {
        assert!(
            Config::try_parse_from(["chorus", "--embed-origins", bad]).is_err(),
            "{bad}"
        );
    }
}
