use super::*;

fn errs(text: &str) -> Vec<String> {
    match parse_str(text, "t.toml") {
        Ok(_) => vec![],
        Err(e) => e.errors().iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn shipped_config_is_valid() {
    // Loaded from its file: prompt paths are relative to it.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/switchboard.toml");
    let cfg = load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(cfg.ivr.menus.get("main").is_some());
    assert!(cfg.prompts.contains_key("prompts/welcome.wav"));
    assert!(cfg
        .dispositions
        .iter()
        .any(|d| d.code == "do-not-call" && d.is_final));
    assert_eq!(cfg.users.len(), 4);
    assert_eq!(cfg.sip.listen.len(), 2);
    assert_eq!(cfg.sip.domain, "switchboard.local");
    let p = cfg.recording_policies();
    assert_eq!(p.default, crate::recording::Policy::Never);
    assert_eq!(
        p.trunks.get("carrier"),
        Some(&crate::recording::Policy::Always)
    );
    assert_eq!(p.users.get("1003"), Some(&crate::recording::Policy::Never));
    assert_eq!(
        p.queues.get("billing"),
        Some(&crate::recording::Policy::Always)
    );
    assert!(cfg.recording.dir.ends_with("var/recordings"));
    let api = cfg.api.expect("the demo config enables the API");
    assert_eq!(api.listen.port(), 50051);
    // Wallboard (read), CRM (read + control), admin (blocking numbers).
    assert_eq!(api.tokens.len(), 3);
    assert_eq!(api.tokens[2].scopes, vec![ApiScope::Admin]);
}

#[test]
fn recording_section_is_checked_with_positions() {
    let cfg = parse_str(
        "[recording]\nformat = \"mono\"\npolicy = \"on-demand\"\nmax_concurrent = 5\n",
        "t.toml",
    )
    .unwrap();
    assert_eq!(cfg.recording.layout, crate::recording::Layout::Mono);
    assert_eq!(cfg.recording.policy, crate::recording::Policy::OnDemand);
    assert_eq!(cfg.recording.max_concurrent, 5);
    let e = errs("[recording]\nfile_name = \"{date}/{nope}\"\n");
    assert!(
        e.len() == 1 && e[0].starts_with("t.toml:2:13: recording.file_name: unknown placeholder"),
        "{e:?}"
    );
    let e = errs("[recording]\npolicy = \"sometimes\"\n");
    assert!(e.len() == 1 && e[0].starts_with("t.toml:2:"), "{e:?}");
    let e = errs("[[trunks]]\nname = \"t\"\naddress = \"127.0.0.1:5060\"\nrecording = \"maybe\"\n");
    assert!(e.len() == 1 && e[0].starts_with("t.toml:4:"), "{e:?}");
}

#[test]
fn empty_file_gives_defaults() {
    let cfg = parse_str("", "t.toml").unwrap();
    assert_eq!(cfg.registrar.default_expires, 3600);
    assert_eq!(
        cfg.auth.algorithms,
        vec![DigestAlgorithm::Sha256, DigestAlgorithm::Md5]
    );
    assert_eq!(cfg.security.requests, 30);
    assert!(cfg.sip.force_rport);
}

#[test]
fn unknown_keys_point_at_their_line() {
    let e = errs("[sip]\ndomain = \"x\"\nlisn = []\n");
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("t.toml:3:1: unknown field `lisn`"),
        "{e:?}"
    );
    let e = errs("bogus = 1\n");
    assert!(
        e[0].starts_with("t.toml:1:1: unknown field `bogus`"),
        "{e:?}"
    );
}

#[test]
fn wrong_type_is_reported() {
    let e = errs("[registrar]\nmin_expires = \"soon\"\n");
    assert!(e[0].starts_with("t.toml:2:15:"), "{e:?}");
}

#[test]
fn semantic_errors_are_all_collected_with_positions() {
    let text = "[sip]\nlisten = [{ transport = \"sctp\", addr = \"127.0.0.1:5060\" }, { transport = \"udp\", addr = \"nowhere\" }]\n\n[registrar]\nmin_expires = 600\nmax_expires = 60\n\n[security]\ntrusted = [\"10.0.0.0/40\"]\n\n[[users]]\nextension = \"1001\"\npassword = \"a\"\n\n[[users]]\nextension = \"1001\"\npassword = \"b\"\nha1_md5 = \"zz\"\n";
    let e = errs(text);
    let joined = e.join("\n");
    assert!(
        joined.contains("t.toml:2:25: unknown transport `sctp`"),
        "{joined}"
    );
    assert!(
        joined.contains("t.toml:2:88: `nowhere` is not an IP:port"),
        "{joined}"
    );
    assert!(
        joined.contains("t.toml:6:15: registrar.max_expires (60) is below"),
        "{joined}"
    );
    assert!(joined.contains("t.toml:9:12: prefix length"), "{joined}");
    assert!(
        joined.contains("t.toml:16:13: extension `1001` is defined twice"),
        "{joined}"
    );
    assert!(
        joined.contains("t.toml:17:12: user `1001`: give either"),
        "{joined}"
    );
    assert!(
        joined.contains("t.toml:18:11: ha1_md5 must be 32 hex digits"),
        "{joined}"
    );
}

#[test]
fn crlf_files_report_right_columns() {
    let e = errs("[registrar]\r\nmax_contacts_per_aor = 0\r\n");
    assert_eq!(
        e,
        vec!["t.toml:2:24: registrar.max_contacts_per_aor must be at least 1"]
    );
}

#[test]
fn ipv6_listen_and_relative_store_path() {
    let cfg = parse_str(
        "[sip]\nlisten = [{ transport = \"udp\", addr = \"[::1]:5070\" }]\n[store]\npath = \"db/x.db\"\n",
        "t.toml",
    )
    .unwrap();
    assert_eq!(cfg.sip.listen[0].1, "[::1]:5070".parse().unwrap());
    assert_eq!(cfg.store.path, std::path::Path::new("./db/x.db"));
}

#[test]
fn user_needs_a_credential() {
    let e = errs("[[users]]\nextension = \"7\"\n");
    assert!(e[0].contains("needs `password`"), "{e:?}");
}

#[test]
fn tcp_limits_default_and_are_checked_with_positions() {
    let cfg = parse_str("", "t.toml").unwrap();
    let t = &cfg.sip.tcp;
    assert_eq!(t.max_connections, None, "derived from the descriptor limit");
    assert_eq!(
        (
            t.message_timeout_secs,
            t.message_min_rate,
            t.message_timeout_max_secs
        ),
        (10, 500, 30)
    );
    let cfg = parse_str("[sip.tcp]\nmax_connections = 300\n", "t.toml").unwrap();
    assert_eq!(cfg.sip.tcp.max_connections, Some(300));
    let e = errs("[sip.tcp]\nmax_connections = 0\nmessage_timeout_secs = 0\n");
    assert!(
        e.iter()
            .any(|e| e.starts_with("t.toml:2:19: sip.tcp.max_connections must be at least 1")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|e| e.starts_with("t.toml:3:24: sip.tcp.message_timeout_secs must be at least 1")),
        "{e:?}"
    );
    let e = errs("[sip.tcp]\nmessage_timeout_secs = 20\nmessage_timeout_max_secs = 10\n");
    assert!(
        e.len() == 1
            && e[0].starts_with("t.toml:3:28: sip.tcp.message_timeout_max_secs must not be below"),
        "{e:?}"
    );
}
