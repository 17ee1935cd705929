use super::*;

fn errs(text: &str) -> Vec<String> {
    match parse_str(text, "t.toml") {
        Ok(_) => vec![],
        Err(e) => e.errors().iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn api_is_off_without_listen() {
    assert_eq!(parse_str("", "t.toml").unwrap().api, None);
}

#[test]
fn api_tokens_and_scopes_are_read() {
    let cfg = parse_str(
        "[api]\nlisten = \"127.0.0.1:50051\"\ntokens = [{ token = \"0123456789abcdef\", scopes = [\"read\", \"admin\"] }]\n",
        "t.toml",
    )
    .unwrap();
    let api = cfg.api.unwrap();
    assert_eq!(api.listen, "127.0.0.1:50051".parse().unwrap());
    assert_eq!(api.tokens[0].scopes, vec![ApiScope::Read, ApiScope::Admin]);
}

#[test]
fn api_mistakes_point_at_their_line() {
    let e = errs(
        "[api]\nlisten = \"localhost\"\ntokens = [\n { token = \"short\", scopes = [\"read\"] },\n { token = \"0123456789abcdef\", scopes = [\"write\"] },\n { token = \"0123456789abcdef\", scopes = [] },\n]\n",
    );
    let all = e.join("\n");
    assert!(
        all.contains("t.toml:2:10: `localhost` is not an IP:port"),
        "{all}"
    );
    assert!(
        all.contains("t.toml:4:12: api token must be at least 16"),
        "{all}"
    );
    assert!(all.contains("t.toml:5:42: unknown scope `write`"), "{all}");
    assert!(all.contains("t.toml:6:12: api token listed twice"), "{all}");
    assert!(
        all.contains("t.toml:6:41: api token needs at least one scope"),
        "{all}"
    );
}

#[test]
fn api_listen_without_tokens_is_refused() {
    let e = errs("[api]\nlisten = \"127.0.0.1:50051\"\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("api.tokens is empty"), "{e:?}");
}

#[test]
fn api_tls_files_must_be_pem() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), "not a certificate").unwrap();
    let path = dir.path().join("sb.toml");
    std::fs::write(
        &path,
        "[api]\nlisten = \"127.0.0.1:50051\"\ntokens = [{ token = \"0123456789abcdef\", scopes = [\"read\"] }]\ntls = { cert = \"cert.pem\", key = \"missing.pem\" }\n",
    )
    .unwrap();
    let e = load(&path).unwrap_err().to_string();
    assert!(
        e.contains(":4:16:") && e.contains("is not a PEM certificate"),
        "{e}"
    );
    assert!(
        e.contains(":4:34:") && e.contains("cannot read private key"),
        "{e}"
    );
}

#[test]
fn metrics_is_off_without_listen_and_reads_its_address() {
    assert_eq!(parse_str("", "t.toml").unwrap().metrics, None);
    let cfg = parse_str("[metrics]\nlisten = \"127.0.0.1:9090\"\n", "t.toml").unwrap();
    assert_eq!(
        cfg.metrics.unwrap().listen,
        "127.0.0.1:9090".parse().unwrap()
    );
}

#[test]
fn metrics_bad_address_points_at_its_line() {
    let all = errs("[metrics]\nlisten = \"nowhere\"\n").join("\n");
    assert!(
        all.contains("t.toml:2:10: `nowhere` is not an IP:port"),
        "{all}"
    );
    let all = errs("[metrics]\nport = 9090\n").join("\n");
    assert!(all.contains("t.toml:2:"), "{all}");
}

#[test]
fn api_protections_have_defaults() {
    let cfg = parse_str(
        "[api]\nlisten = \"127.0.0.1:50051\"\ntokens = [{ token = \"0123456789abcdef\", scopes = [\"read\"] }]\n",
        "t.toml",
    )
    .unwrap();
    let api = cfg.api.unwrap();
    assert_eq!(api.limits, ApiLimits::default());
    assert_eq!(api.limits.max_connections_per_ip, 32);
    assert_eq!(api.limits.preface_timeout, Duration::from_secs(5));
    assert_eq!(api.security, ApiSecurity::default());
    assert_eq!(api.security.auth_failures, 10);
}

#[test]
fn api_protections_are_read_and_checked_at_their_line() {
    let cfg = parse_str(
        "[api]\nlisten = \"127.0.0.1:50051\"\ntokens = [{ token = \"0123456789abcdef\", scopes = [\"read\"] }]\nmax_connections = 100\nmax_connections_per_ip = 4\npreface_timeout_secs = 2\n[api.security]\nauth_failures = 3\nwindow_secs = 30\nban_secs = 60\n",
        "t.toml",
    )
    .unwrap();
    let api = cfg.api.unwrap();
    assert_eq!(
        api.limits,
        ApiLimits {
            max_connections: 100,
            max_connections_per_ip: 4,
            preface_timeout: Duration::from_secs(2),
        }
    );
    assert_eq!(
        api.security,
        ApiSecurity {
            auth_failures: 3,
            window: Duration::from_secs(30),
            ban: Duration::from_secs(60),
        }
    );
    let all = errs(
        "[api]\nlisten = \"127.0.0.1:50051\"\ntokens = [{ token = \"0123456789abcdef\", scopes = [\"read\"] }]\nmax_connections_per_ip = 0\npreface_timeout_secs = 0\n[api.security]\nauth_failures = 0\n",
    )
    .join("\n");
    assert!(
        all.contains("t.toml:4:26: api.max_connections_per_ip must be 1..="),
        "{all}"
    );
    assert!(
        all.contains("t.toml:5:24: api.preface_timeout_secs must be 1..=300"),
        "{all}"
    );
    assert!(
        all.contains("t.toml:7:17: api.security.auth_failures must be 1..="),
        "{all}"
    );
    let all = errs("[api.security]\nban = 5\n").join("\n");
    assert!(all.contains("t.toml:2:1"), "{all}");
}
