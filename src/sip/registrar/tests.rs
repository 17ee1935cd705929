use super::*;
use crate::sip::{message, TransportKind};

const D: &str = "switchboard.local";

fn peer() -> Peer {
    Peer {
        transport: TransportKind::Udp,
        addr: "192.0.2.1:5060".parse().unwrap(),
        conn: Some(0),
    }
}

fn reg(user: &str, call_id: &str, cseq: u32, extra: &str) -> rsip::Request {
    let text = format!(
        "REGISTER sip:{D} SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK{cseq}\r\nFrom: <sip:{user}@{D}>;tag=1\r\nTo: <sip:{user}@{D}>\r\nCall-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n{extra}Content-Length: 0\r\n\r\n"
    );
    match message::parse(text.as_bytes()).unwrap().message {
        rsip::SipMessage::Request(r) => r,
        _ => unreachable!("a request was built"),
    }
}

fn limits() -> RegistrarLimits {
    RegistrarLimits {
        min_expires: 60,
        default_expires: 3600,
        max_expires: 7200,
        max_contacts_per_aor: 2,
    }
}

#[test]
fn registers_refreshes_and_expires() {
    let t0 = Instant::now();
    let mut r = Registrar::new(limits());
    let ok = r
        .handle_register(
            t0,
            &reg(
                "1001",
                "c1",
                1,
                "Contact: <sip:1001@192.0.2.1>\r\nExpires: 120\r\n",
            ),
            "1001",
            D,
            peer(),
        )
        .unwrap();
    assert_eq!(ok.aor, "1001@switchboard.local");
    assert_eq!(
        ok.contact_headers(t0),
        vec!["<sip:1001@192.0.2.1>;expires=120"]
    );
    assert!(
        matches!(&ok.changes[..], [BindingChange::Upsert(b)] if b.contact == "sip:1001@192.0.2.1")
    );
    // Refresh at 100 s pushes expiry to 220 s.
    let t100 = t0 + Duration::from_secs(100);
    r.handle_register(
        t100,
        &reg(
            "1001",
            "c1",
            2,
            "Contact: <sip:1001@192.0.2.1>;expires=120\r\n",
        ),
        "1001",
        D,
        peer(),
    )
    .unwrap();
    r.handle_timeout(t0 + Duration::from_secs(121));
    assert_eq!(
        r.poll_change(),
        None,
        "refreshed binding must not expire at the old time"
    );
    assert_eq!(r.lookup("1001@switchboard.local").len(), 1);
    r.handle_timeout(t0 + Duration::from_secs(220));
    assert_eq!(
        r.poll_change(),
        Some(BindingChange::Remove {
            aor: "1001@switchboard.local".into(),
            contact: "sip:1001@192.0.2.1".into()
        })
    );
    assert!(r.lookup("1001@switchboard.local").is_empty());
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn query_lists_bindings_without_changes() {
    let t0 = Instant::now();
    let mut r = Registrar::new(limits());
    r.handle_register(
        t0,
        &reg("1001", "c1", 1, "Contact: <sip:a@h>\r\n"),
        "1001",
        D,
        peer(),
    )
    .unwrap();
    let q = r
        .handle_register(
            t0 + Duration::from_secs(10),
            &reg("1001", "c9", 1, ""),
            "1001",
            D,
            peer(),
        )
        .unwrap();
    assert!(q.changes.is_empty());
    assert_eq!(
        q.contact_headers(t0 + Duration::from_secs(10)),
        vec!["<sip:a@h>;expires=3590"]
    );
}

#[test]
fn ownership_interval_and_clamping() {
    let t0 = Instant::now();
    let mut r = Registrar::new(limits());
    let req = reg("1002", "c1", 1, "Contact: <sip:x@h>\r\n");
    assert_eq!(
        r.handle_register(t0, &req, "1001", D, peer()),
        Err(RegisterError::Forbidden)
    );
    let short = reg("1001", "c1", 1, "Contact: <sip:x@h>;expires=30\r\n");
    assert_eq!(
        r.handle_register(t0, &short, "1001", D, peer()),
        Err(RegisterError::IntervalTooBrief { min: 60 })
    );
    assert_eq!(
        RegisterError::IntervalTooBrief { min: 60 }.response(),
        (423, vec![("Min-Expires", "60".to_string())])
    );
    let long = reg("1001", "c1", 2, "Contact: <sip:x@h>;expires=99999\r\n");
    let ok = r.handle_register(t0, &long, "1001", D, peer()).unwrap();
    assert_eq!(ok.contact_headers(t0), vec!["<sip:x@h>;expires=7200"]);
}

#[test]
fn several_devices_cap_and_removal() {
    let t0 = Instant::now();
    let mut r = Registrar::new(limits());
    r.handle_register(
        t0,
        &reg("1001", "a", 1, "Contact: <sip:1001@desk>\r\n"),
        "1001",
        D,
        peer(),
    )
    .unwrap();
    r.handle_register(
        t0,
        &reg("1001", "b", 1, "Contact: <sip:1001@soft>\r\n"),
        "1001",
        D,
        peer(),
    )
    .unwrap();
    assert_eq!(r.lookup("1001@switchboard.local").len(), 2);
    let third = reg("1001", "c", 1, "Contact: <sip:1001@mobile>\r\n");
    assert_eq!(
        r.handle_register(t0, &third, "1001", D, peer()),
        Err(RegisterError::TooManyContacts)
    );
    assert_eq!(
        r.lookup("1001@switchboard.local").len(),
        2,
        "a refused request changes nothing"
    );
    let gone = r
        .handle_register(
            t0,
            &reg("1001", "a", 2, "Contact: <sip:1001@desk>;expires=0\r\n"),
            "1001",
            D,
            peer(),
        )
        .unwrap();
    assert_eq!(gone.bindings.len(), 1);
    assert!(
        matches!(&gone.changes[..], [BindingChange::Remove { contact, .. }] if contact == "sip:1001@desk")
    );
    let all = r
        .handle_register(
            t0,
            &reg("1001", "z", 1, "Contact: *\r\nExpires: 0\r\n"),
            "1001",
            D,
            peer(),
        )
        .unwrap();
    assert!(all.bindings.is_empty());
    assert_eq!(all.changes.len(), 1);
    assert!(r.lookup("1001@switchboard.local").is_empty());
    let bad = reg("1001", "z", 2, "Contact: *\r\n");
    assert!(matches!(
        r.handle_register(t0, &bad, "1001", D, peer()),
        Err(RegisterError::BadRequest(_))
    ));
}

#[test]
fn out_of_order_and_instance_replacement() {
    let t0 = Instant::now();
    let mut r = Registrar::new(limits());
    r.handle_register(
        t0,
        &reg("1001", "a", 5, "Contact: <sip:1001@h1>\r\n"),
        "1001",
        D,
        peer(),
    )
    .unwrap();
    let old = reg("1001", "a", 4, "Contact: <sip:1001@h1>\r\n");
    assert_eq!(
        r.handle_register(t0, &old, "1001", D, peer()),
        Err(RegisterError::OutOfOrder)
    );
    // A different Call-ID replaces whatever CSeq it has.
    r.handle_register(
        t0,
        &reg("1001", "b", 1, "Contact: <sip:1001@h1>\r\n"),
        "1001",
        D,
        peer(),
    )
    .unwrap();
    let inst = "Contact: <sip:1001@ip1>;+sip.instance=\"<urn:uuid:x>\"\r\n";
    r.handle_register(t0, &reg("1001", "c", 1, inst), "1001", D, peer())
        .unwrap();
    let moved = "Contact: <sip:1001@ip2>;+sip.instance=\"<urn:uuid:x>\"\r\n";
    let ok = r
        .handle_register(t0, &reg("1001", "c", 2, moved), "1001", D, peer())
        .unwrap();
    let contacts: Vec<_> = ok.bindings.iter().map(|b| b.contact.as_str()).collect();
    assert_eq!(contacts, vec!["sip:1001@h1", "sip:1001@ip2"]);
    assert!(ok
        .changes
        .iter()
        .any(|c| matches!(c, BindingChange::Remove { contact, .. } if contact == "sip:1001@ip1")));
}

#[test]
fn restore_keeps_live_bindings_and_schedules_them() {
    let t0 = Instant::now();
    let mut r = Registrar::new(limits());
    let b = Binding {
        aor: "1001@switchboard.local".into(),
        contact: "sip:1001@h".into(),
        instance: None,
        call_id: "c".into(),
        cseq: 1,
        expires_at: t0 + Duration::from_secs(30),
        source: peer(),
        user_agent: None,
    };
    let dead = Binding {
        expires_at: t0,
        contact: "sip:old@h".into(),
        ..b.clone()
    };
    r.restore(t0, vec![b, dead]);
    assert_eq!(r.binding_count(), 1);
    assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_secs(30)));
}
