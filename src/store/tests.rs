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
