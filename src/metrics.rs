//! Prometheus metrics (`[metrics] listen`): a registry on the driver side, fed from what the
//! main loop already sees (outputs, finished CDRs, the once-per-second tick), served as the
//! OpenMetrics text format on `GET /metrics`. No per-call labels: every label's values come
//! from a closed set (end causes, directions, recording outcomes) or from the config (queues).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request, Response, StatusCode};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::acd::{AcdEvent, StateKind};
use crate::call::cdr::Cdr;
use crate::sip::endpoint::views::{AgentView, QueueView};
use crate::sip::transaction::{TxKind, TxStats};

type Labels = Vec<(&'static str, String)>;

/// Every agent state, for the gauges (a state nobody is in reads 0, not absent).
const STATES: [StateKind; 6] = [
    StateKind::LoggedOut,
    StateKind::Ready,
    StateKind::Offered,
    StateKind::OnCall,
    StateKind::WrapUp,
    StateKind::NotReady,
];

fn state_name(s: StateKind) -> &'static str {
    match s {
        StateKind::LoggedOut => "logged_out",
        StateKind::Ready => "ready",
        StateKind::Offered => "offered",
        StateKind::OnCall => "on_call",
        StateKind::WrapUp => "wrap_up",
        StateKind::NotReady => "not_ready",
    }
}

/// The metric handles (cheap clones of atomics) and the registry that names them.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    calls_active: Gauge,
    calls: Family<Labels, Counter>,
    call_setups: Counter,
    call_answers: Counter,
    sip_received: Counter,
    sip_sent: Counter,
    sip_transactions: Family<Labels, Counter>,
    /// What `sip_transactions` was last brought up to (the layer counts since start).
    sip_tx_seen: Arc<std::sync::Mutex<TxStats>>,
    sip_error_responses: Family<Labels, Counter>,
    sip_transport_errors: Counter,
    bans: Counter,
    auth_failures: Counter,
    rtp_relayed: Family<Labels, Counter>,
    rtp_lost: Family<Labels, Counter>,
    mos: Histogram,
    recordings: Family<Labels, Counter>,
    queue_waiting: Family<Labels, Gauge>,
    agents: Family<Labels, Gauge>,
    acd_events: Family<Labels, Counter>,
    api_subscribers: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut r = Registry::with_prefix("switchboard");
        let calls_active = Gauge::default();
        r.register("calls_active", "Calls in progress", calls_active.clone());
        let calls = Family::<Labels, Counter>::default();
        r.register("calls", "Finished calls by end cause", calls.clone());
        let call_setups = Counter::default();
        r.register("call_setups", "Calls created", call_setups.clone());
        let call_answers = Counter::default();
        r.register("call_answers", "Calls answered", call_answers.clone());
        let sip_received = Counter::default();
        r.register(
            "sip_messages_received",
            "SIP messages received",
            sip_received.clone(),
        );
        let sip_sent = Counter::default();
        r.register("sip_messages_sent", "SIP messages sent", sip_sent.clone());
        let sip_transactions = Family::<Labels, Counter>::default();
        r.register(
            "sip_transactions",
            "SIP transactions ended, by side (client/server), method (invite/non_invite) and outcome (completed; timeout: Timer B, C, F or H)",
            sip_transactions.clone(),
        );
        let sip_error_responses = Family::<Labels, Counter>::default();
        r.register(
            "sip_error_responses",
            "SIP 4xx/5xx/6xx responses by direction (sent/received) and class, retransmissions included",
            sip_error_responses.clone(),
        );
        let sip_transport_errors = Counter::default();
        r.register(
            "sip_transport_errors",
            "SIP messages that could not be sent (UDP send failed, no TCP connection to the peer)",
            sip_transport_errors.clone(),
        );
        let bans = Counter::default();
        r.register("security_bans", "Sources banned", bans.clone());
        let auth_failures = Counter::default();
        r.register(
            "auth_failures",
            "Failed authentications",
            auth_failures.clone(),
        );
        let rtp_relayed = Family::<Labels, Counter>::default();
        r.register(
            "rtp_packets_relayed",
            "RTP packets relayed by direction (counted at call end)",
            rtp_relayed.clone(),
        );
        let rtp_lost = Family::<Labels, Counter>::default();
        r.register(
            "rtp_packets_lost",
            "RTP packets lost by direction (counted at call end)",
            rtp_lost.clone(),
        );
        let mos = Histogram::new([1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5]);
        r.register("call_mos", "Estimated MOS of finished calls", mos.clone());
        let recordings = Family::<Labels, Counter>::default();
        r.register(
            "recordings",
            "Recordings by outcome (ok, failed, skipped-limit)",
            recordings.clone(),
        );
        let queue_waiting = Family::<Labels, Gauge>::default();
        r.register(
            "queue_waiting",
            "Callers in each queue",
            queue_waiting.clone(),
        );
        let agents = Family::<Labels, Gauge>::default();
        r.register("agents", "Agents by state", agents.clone());
        let acd_events = Family::<Labels, Counter>::default();
        r.register("acd_events", "ACD events by kind", acd_events.clone());
        let api_subscribers = Gauge::default();
        r.register(
            "api_subscribers",
            "gRPC event-stream subscribers",
            api_subscribers.clone(),
        );
        Metrics {
            registry: Arc::new(r),
            calls_active,
            calls,
            call_setups,
            call_answers,
            sip_received,
            sip_sent,
            sip_transactions,
            sip_tx_seen: Default::default(),
            sip_error_responses,
            sip_transport_errors,
            bans,
            auth_failures,
            rtp_relayed,
            rtp_lost,
            mos,
            recordings,
            queue_waiting,
            agents,
            acd_events,
            api_subscribers,
        }
    }

    pub fn sip_received(&self, msg: &[u8]) {
        self.sip_received.inc();
        self.error_response("received", msg);
    }

    pub fn sip_sent(&self, msg: &[u8]) {
        self.sip_sent.inc();
        self.error_response("sent", msg);
    }

    /// Count `msg` if it is a 4xx–6xx response: a look at its status line, no parse.
    fn error_response(&self, dir: &'static str, msg: &[u8]) {
        let class = match msg.strip_prefix(b"SIP/2.0 ").and_then(|r| r.first()) {
            Some(b'4') => "4xx",
            Some(b'5') => "5xx",
            Some(b'6') => "6xx",
            _ => return,
        };
        self.sip_error_responses
            .get_or_create(&vec![
                ("direction", dir.to_string()),
                ("class", class.to_string()),
            ])
            .inc();
    }

    /// A message the transports could not send.
    pub fn sip_transport_error(&self) {
        self.sip_transport_errors.inc();
    }

    /// Bring the transaction counters up to the layer's totals (read once a second).
    pub fn transactions(&self, now: TxStats) {
        let mut seen = self.sip_tx_seen.lock().unwrap_or_else(|p| p.into_inner());
        for k in TxKind::ALL {
            let (side, method) = k.labels();
            for (outcome, total, before) in [
                ("completed", now.completed(k), seen.completed(k)),
                ("timeout", now.timed_out(k), seen.timed_out(k)),
            ] {
                // get_or_create even for 0: every series reads 0 rather than being absent.
                self.sip_transactions
                    .get_or_create(&vec![
                        ("side", side.to_string()),
                        ("method", method.to_string()),
                        ("outcome", outcome.to_string()),
                    ])
                    .inc_by(total.saturating_sub(before));
            }
        }
        *seen = now;
    }

    pub fn ban(&self) {
        self.bans.inc();
    }

    pub fn auth_failure(&self) {
        self.auth_failures.inc();
    }

    pub fn call_event(&self, ev: &crate::sip::endpoint::calls::CallEvent) {
        use crate::sip::endpoint::calls::CallEvent;
        match ev {
            CallEvent::Created { .. } => drop(self.call_setups.inc()),
            CallEvent::Answered { .. } => drop(self.call_answers.inc()),
            _ => {}
        }
    }

    pub fn acd_event(&self, ev: &AcdEvent) {
        // The variant's name: a closed set. ACD events are a few per call, not per packet.
        let name = format!("{:?}", ev.kind);
        let kind: String = name
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        self.acd_events.get_or_create(&vec![("kind", kind)]).inc();
    }

    /// A finished call's CDR, with its media figures.
    pub fn cdr(&self, cdr: &Cdr) {
        let cause = cdr.end_cause.clone().unwrap_or_else(|| "unknown".into());
        self.calls.get_or_create(&vec![("cause", cause)]).inc();
        for (dir, q) in [("a_to_b", &cdr.a_to_b), ("b_to_a", &cdr.b_to_a)] {
            let l = vec![("direction", dir.to_string())];
            self.rtp_relayed.get_or_create(&l).inc_by(q.packets);
            self.rtp_lost.get_or_create(&l).inc_by(q.lost);
        }
        if let Some(mos) = cdr.mos {
            self.mos.observe(mos);
        }
        let status = match cdr.recording_status.as_deref() {
            None | Some("none") => None,
            Some(s) if s.starts_with("failed") => Some("failed"),
            Some(s) => Some(if s == "ok" { "ok" } else { "skipped-limit" }),
        };
        if let Some(s) = status {
            self.recordings
                .get_or_create(&vec![("status", s.to_string())])
                .inc();
        }
    }

    /// The once-per-second gauges.
    pub fn tick(
        &self,
        active_calls: usize,
        queues: &[QueueView],
        agents: &[AgentView],
        subscribers: usize,
    ) {
        self.calls_active.set(active_calls as i64);
        for q in queues {
            self.queue_waiting
                .get_or_create(&vec![("queue", q.name.clone())])
                .set(q.waiting as i64);
        }
        if !agents.is_empty() {
            for s in STATES {
                let n = agents.iter().filter(|a| a.state == s).count();
                self.agents
                    .get_or_create(&vec![("state", state_name(s).to_string())])
                    .set(n as i64);
            }
        }
        self.api_subscribers.set(subscribers as i64);
    }

    /// The text exposition (OpenMetrics).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn respond(m: &Metrics, method: &Method, path: &str) -> Response<Full<Bytes>> {
    let (status, ctype, body) = if path == "/metrics" && (method == Method::GET) {
        (StatusCode::OK, CONTENT_TYPE, m.encode())
    } else {
        (StatusCode::NOT_FOUND, "text/plain", "not found\n".into())
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    if let Ok(v) = hyper::header::HeaderValue::from_str(ctype) {
        resp.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    resp
}

/// Bind `[metrics] listen`.
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}

/// Serve `GET /metrics` (plain HTTP/1) until the runtime stops.
pub async fn serve(listener: tokio::net::TcpListener, metrics: Metrics) {
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                // Out of descriptors, most likely: wait instead of spinning.
                tracing::warn!(error = %e, "metrics: accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let m = metrics.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                let r = respond(&m, req.method(), req.uri().path());
                async move { Ok::<_, Infallible>(r) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, svc)
                .await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acd::EventKind;

    fn cdr(cause: &str, packets: u64, lost: u64, mos: Option<f64>, rec: &str) -> Cdr {
        let mut c = Cdr {
            end_cause: Some(cause.into()),
            mos,
            recording_status: Some(rec.into()),
            ..Cdr::default()
        };
        c.a_to_b.packets = packets;
        c.a_to_b.lost = lost;
        c.b_to_a.packets = packets + 1;
        c
    }

    #[test]
    fn exposition_names_labels_and_values() {
        let m = Metrics::new();
        m.cdr(&cdr("normal", 100, 2, Some(4.3), "ok"));
        m.cdr(&cdr("normal", 50, 0, Some(2.2), "none"));
        m.cdr(&cdr("no-answer", 0, 0, None, "failed: disk full"));
        m.sip_received(b"INVITE sip:x SIP/2.0\r\n");
        m.sip_received(b"SIP/2.0 486 Busy Here\r\n");
        m.sip_sent(b"SIP/2.0 503 Service Unavailable\r\n");
        m.sip_sent(b"SIP/2.0 200 OK\r\n");
        let mut tx = TxStats::default();
        tx.timed_out[TxKind::ClientInvite as usize] = 2;
        m.transactions(tx);
        tx.timed_out[TxKind::ClientInvite as usize] = 3;
        tx.completed[TxKind::ServerNonInvite as usize] = 4;
        m.transactions(tx);
        m.ban();
        m.auth_failure();
        m.acd_event(&AcdEvent {
            at_ms: 1,
            kind: EventKind::Hold {
                call: crate::acd::CallId(1),
                on: true,
            },
        });
        let queues = [QueueView {
            name: "sales".into(),
            waiting: 3,
            longest_wait: std::time::Duration::from_secs(5),
            kpi: None,
            service_level: std::time::Duration::from_secs(20),
            staff: Default::default(),
            ewt: None,
        }];
        let agents = [AgentView {
            agent: "1001".into(),
            state: StateKind::Ready,
            reason: None,
            phone: None,
            in_state: None,
            kpi: None,
        }];
        m.tick(2, &queues, &agents, 1);
        let text = m.encode();
        for want in [
            "switchboard_calls_total{cause=\"normal\"} 2\n",
            "switchboard_calls_total{cause=\"no-answer\"} 1\n",
            "switchboard_calls_active 2\n",
            "switchboard_rtp_packets_relayed_total{direction=\"a_to_b\"} 150\n",
            "switchboard_rtp_packets_relayed_total{direction=\"b_to_a\"} 153\n",
            "switchboard_rtp_packets_lost_total{direction=\"a_to_b\"} 2\n",
            "switchboard_call_mos_count 2\n",
            "switchboard_call_mos_bucket{le=\"2.5\"} 1\n",
            "switchboard_call_mos_bucket{le=\"4.5\"} 2\n",
            "switchboard_recordings_total{status=\"ok\"} 1\n",
            "switchboard_recordings_total{status=\"failed\"} 1\n",
            "switchboard_sip_messages_received_total 2\n",
            "switchboard_sip_messages_sent_total 2\n",
            "switchboard_sip_error_responses_total{direction=\"received\",class=\"4xx\"} 1\n",
            "switchboard_sip_error_responses_total{direction=\"sent\",class=\"5xx\"} 1\n",
            "switchboard_sip_transactions_total{side=\"client\",method=\"invite\",outcome=\"timeout\"} 3\n",
            "switchboard_sip_transactions_total{side=\"server\",method=\"non_invite\",outcome=\"completed\"} 4\n",
            "switchboard_sip_transactions_total{side=\"client\",method=\"invite\",outcome=\"completed\"} 0\n",
            "switchboard_security_bans_total 1\n",
            "switchboard_auth_failures_total 1\n",
            "switchboard_acd_events_total{kind=\"Hold\"} 1\n",
            "switchboard_queue_waiting{queue=\"sales\"} 3\n",
            "switchboard_agents{state=\"ready\"} 1\n",
            "switchboard_agents{state=\"on_call\"} 0\n",
            "switchboard_api_subscribers 1\n",
            "# TYPE switchboard_calls counter\n",
            "# EOF\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
    }

    #[test]
    fn only_get_metrics_is_served() {
        let m = Metrics::new();
        assert_eq!(
            respond(&m, &Method::GET, "/metrics").status(),
            StatusCode::OK
        );
        assert_eq!(
            respond(&m, &Method::GET, "/").status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            respond(&m, &Method::POST, "/metrics").status(),
            StatusCode::NOT_FOUND
        );
    }
}
