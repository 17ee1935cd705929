use super::*;

fn binding(aor: &str, contact: &str, exp: i64) -> StoredBinding {
    StoredBinding {
        aor: aor.into(),
        contact: contact.into(),
        instance: None,
        call_id: "c".into(),
        cseq: 1,
        expires_unix_ms: exp,
        transport: "udp".into(),
        source_addr: "127.0.0.1:5060".into(),
        user_agent: Some("ua".into()),
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

#[test]
fn acknowledged_writes_are_visible_to_a_new_connection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/s.db");
    let store = Store::open(&path).unwrap();
    rt().block_on(async {
        store
            .upsert_binding(binding("1001@d", "sip:a", 10))
            .await
            .unwrap()
            .unwrap();
        // Read through an independent connection right after the ack.
        let other = Store::open(&path).unwrap();
        assert_eq!(other.load_bindings().unwrap().len(), 1);
        let acks: Vec<_> = (0..300)
            .map(|i| store.upsert_binding(binding("1002@d", &format!("sip:{i}"), i)))
            .collect();
        for a in acks {
            a.await.unwrap().unwrap();
        }
        store
            .upsert_binding(binding("1001@d", "sip:a", 99))
            .await
            .unwrap()
            .unwrap();
        store
            .delete_binding("1002@d", "sip:0")
            .await
            .unwrap()
            .unwrap();
        store.flush().await.unwrap();
        other.close();
    });
    let all = store.load_bindings().unwrap();
    assert_eq!(all.len(), 300);
    assert_eq!(
        all.iter()
            .find(|b| b.aor == "1001@d")
            .unwrap()
            .expires_unix_ms,
        99
    );
    rt().block_on(async { store.delete_aor("1002@d").await.unwrap().unwrap() });
    assert_eq!(store.load_bindings().unwrap().len(), 1);
    store.close();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("sub"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o077,
            0,
            "store directory must not be group/world accessible"
        );
    }
}

#[test]
fn closed_store_reports_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("s.db")).unwrap();
    store.tx.take();
    let r = rt()
        .block_on(store.upsert_binding(binding("a", "b", 1)))
        .unwrap();
    assert!(matches!(r, Err(StoreError::Closed)));
}

#[test]
fn acd_events_round_trip_in_order_and_since_a_time() {
    use crate::acd::{AcdEvent, AgentId, CallId, EventKind, QueueId, StateKind, Target};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = Store::open(&path).unwrap();
    let evs = vec![
        AcdEvent {
            at_ms: 1_000,
            kind: EventKind::Queued {
                call: CallId(7),
                queue: QueueId(1),
                priority: 2,
                position: 1,
            },
        },
        AcdEvent {
            at_ms: 2_000,
            kind: EventKind::AgentState {
                agent: AgentId(3),
                from: StateKind::Ready,
                to: StateKind::NotReady,
                duration_ms: 500,
                reason: Some("lunch".into()),
            },
        },
        // Same timestamp as the next one: order must be the stored order, not the time.
        AcdEvent {
            at_ms: 3_000,
            kind: EventKind::Overflowed {
                call: CallId(7),
                queue: QueueId(1),
                target: Target::Queue { queue: "b".into() },
                wait_ms: 2_000,
            },
        },
        AcdEvent {
            at_ms: 3_000,
            kind: EventKind::MemberAdded {
                agent: AgentId(3),
                queue: QueueId(0),
            },
        },
    ];
    rt().block_on(async {
        for ev in &evs {
            store.put_acd_event(ev).await.unwrap().unwrap();
        }
    });
    assert_eq!(store.load_acd_events(0).unwrap(), evs);
    assert_eq!(store.load_acd_events(2_000).unwrap(), evs[1..]);
    assert_eq!(store.load_acd_events(3_001).unwrap(), vec![]);
    // The read-only path sees the same rows while the writer is open.
    assert_eq!(Store::read_acd_events(&path, 2_001).unwrap(), evs[2..]);
    let kinds: Vec<String> = schema::open(&path)
        .unwrap()
        .prepare("SELECT kind FROM acd_events ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(kinds, ["Queued", "AgentState", "Overflowed", "MemberAdded"]);
    store.close();
    assert_eq!(Store::read_acd_events(&path, 0).unwrap(), evs);
}

#[test]
fn reading_a_missing_store_is_a_typed_error_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none/s.db");
    let r = Store::read_acd_events(&path, 0);
    assert!(matches!(r, Err(StoreError::Missing(p)) if p == path));
    assert!(!dir.path().join("none").exists());
}

#[test]
fn a_disposition_set_before_the_final_cdr_is_kept_and_shows_in_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).unwrap();
    let rt = rt();
    let open = Cdr {
        id: "c1".into(),
        a_call_id: "a".into(),
        direction: "inbound".into(),
        caller: "+15550001".into(),
        callee: "queue:sales".into(),
        start_unix_ms: 1_000,
        ..Default::default()
    };
    rt.block_on(store.put_cdr(open.clone())).unwrap().unwrap();
    // The agent disposes while the relay's figures are still on their way ...
    rt.block_on(store.set_disposition("c1", "sale", Some("two units")))
        .unwrap()
        .unwrap();
    // ... then the complete record (with no disposition of its own) replaces the row.
    let done = Cdr {
        end_unix_ms: Some(5_000),
        end_cause: Some("normal".into()),
        ..open
    };
    rt.block_on(store.put_cdr(done)).unwrap().unwrap();
    let rows = store.recent_cdrs(10).unwrap();
    assert_eq!(rows[0].disposition.as_deref(), Some("sale"));
    assert_eq!(rows[0].disposition_notes.as_deref(), Some("two units"));
    assert_eq!(rows[0].end_cause.as_deref(), Some("normal"));
    let h = store.caller_history("+15550001", 5).unwrap();
    assert_eq!(h[0].disposition.as_deref(), Some("sale"));
}

#[test]
fn blocked_numbers_round_trip_and_unblock_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).unwrap();
    let rt = rt();
    let row = |n: &str, exp| BlockedRow {
        number: n.into(),
        reason: "spam".into(),
        created_unix_ms: 7,
        expires_unix_ms: exp,
    };
    rt.block_on(store.put_blocked(row("+1900", None)))
        .unwrap()
        .unwrap();
    rt.block_on(store.put_blocked(row("+1800", Some(99))))
        .unwrap()
        .unwrap();
    assert_eq!(
        store.load_blocked().unwrap(),
        vec![row("+1800", Some(99)), row("+1900", None)]
    );
    rt.block_on(store.delete_blocked("+1800")).unwrap().unwrap();
    assert_eq!(store.load_blocked().unwrap(), vec![row("+1900", None)]);
}

#[test]
fn campaign_overrides_round_trip_and_none_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db")).unwrap();
    let rt = rt();
    let json = r#"{"caller_id":"+15550001"}"#.to_string();
    rt.block_on(store.put_campaign_overrides("spring", Some(json.clone()), 5))
        .unwrap()
        .unwrap();
    assert_eq!(
        store.load_campaign_overrides().unwrap(),
        vec![("spring".to_string(), json)]
    );
    rt.block_on(store.put_campaign_overrides("spring", None, 6))
        .unwrap()
        .unwrap();
    assert!(store.load_campaign_overrides().unwrap().is_empty());
}
