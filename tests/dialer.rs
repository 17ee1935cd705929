//! The dialer against real peers: a SIPp "customer farm" plays the carrier (what a number
//! does depends on its last digit: tests/sipp/dialer_farm_uas.xml) and baresip agents
//! (auto-answer) log in to the campaign's queue with the feature code. Started over gRPC, a
//! progressive campaign connects a person to an agent (RTP both ways, CDRs, events in order:
//! dialed, answered, connected), records busy and no-answer; a fixed-ratio campaign with
//! one agent over-dials and the people nobody can take hear the abandon message and are
//! counted abandoned. A campaign without `numbers` dials from the lead book (imported and
//! DNC'd with the real CLI) and survives `kill -9` without dialling a lead twice; settings
//! changed with UpdateCampaign are checked, listed and survive `kill -9`. A preview
//! campaign shows its agent a lead over gRPC (custom fields and all), skips one, and dials
//! the next agent first: the agent's phone answers, then the customer's. With AMD and
//! `machine_action = "message"`, answering machines (tests/sipp/dialer_vm_uas.xml) get the
//! message after their beep, or after the silence that follows a greeting without one.

mod common;

use common::baresip::*;

use common::api::*;
use common::*;

#[path = "common/sipp.rs"]
mod sipp;

use std::path::Path;
use std::time::Duration;

use switchboard::api::pb;
use tonic::transport::Channel;
use tonic::Code;

/// The farm as trunk `farm`, queue `outbound` served by agents 1002 and 1003, the API, and
/// campaign `spring` (stopped until StartCampaign) dialling `numbers`.
fn config(dir: &Path, port: u16, farm: u16, api: u16, campaign: &str) -> String {
    config_with_leads(dir, port, farm, api, campaign, "max_attempts = 1")
}

/// `config` with the `[campaigns.leads]` rules given.
fn config_with_leads(
    dir: &Path,
    port: u16,
    farm: u16,
    api: u16,
    campaign: &str,
    leads: &str,
) -> String {
    let phones = phone_config(dir);
    let extra = format!(
        r#"{phones}
[[trunks]]
name = "farm"
address = "127.0.0.1:{farm}"

[[queues]]
name = "outbound"
strategy = "longest-idle"
wrap_up_secs = 1
ring_timeout_secs = 10
[queues.caller]
music = "prompts/moh.wav"

[[agents]]
id = "1002"
name = "Bob"
queues = [{{ queue = "outbound" }}]

[[agents]]
id = "1003"
name = "Carol"
queues = [{{ queue = "outbound" }}]

[api]
listen = "127.0.0.1:{api}"
tokens = [
  {{ token = "{READ}", scopes = ["read"] }},
  {{ token = "{CONTROL}", scopes = ["control"] }},
  {{ token = "{ADMIN}", scopes = ["admin"] }},
]

[[campaigns]]
name = "spring"
enabled = false
trunk = "farm"
caller_id = "+15551230000"
queue = "outbound"
ring_timeout_secs = 15
reach_secs = 2
abandon_message = "prompts/campaign-message.wav"
max_lines = 5
{campaign}
[campaigns.leads]
{leads}
"#
    );
    test_config(dir, port, TRUSTING, &extra)
}

/// 20 s of a 1000 Hz tone in PCMU: what the customers say.
fn customer_audio(dir: &Path) -> String {
    tone_ulaw(dir, "customer.ulaw", 1000.0, 20)
        .display()
        .to_string()
}

fn farm(dir: &Path, port: u16, calls: usize) -> sipp::Uas {
    let audio = customer_audio(dir);
    let scen = sipp::filled(dir, "dialer_farm_uas.xml", &[("AUDIO_FILE", &audio)]);
    sipp::Uas::spawn(
        dir,
        "farm",
        &scen,
        (port, free_port()),
        calls,
        &["-timeout", "90s"],
    )
}

/// Finished feature-code calls (their confirmation played, we hung up).
fn feature_calls_done(d: &Daemon) -> usize {
    cdrs(&d.dir.join("switchboard.db"))
        .into_iter()
        .filter(|r| r.end_cause.as_deref() == Some("feature-code"))
        .count()
}

/// Phones for `agents` (name, extension) sending 440 Hz and answering by themselves, each
/// registered and then logged in (in order) with `login`.
fn logged_in<const N: usize>(
    d: &Daemon,
    port: u16,
    agents: [(&str, &'static str); N],
) -> [Phone; N] {
    let phones = agents.map(|(name, ext)| Phone::start(&d.dir, name, ext, port, 440.0, "auto"));
    assert!(
        poll_until(Duration::from_secs(15), || agents
            .iter()
            .all(|(_, ext)| registered(d, ext, 1))),
        "agents' phones never registered:\n{}",
        d.log_text()
    );
    for (i, phone) in phones.iter().enumerate() {
        login(d, phone, port, i + 1);
    }
    phones
}

/// Log `phone` in with *71 from itself; waits until the daemon has done it and the
/// confirmation call is over (`done` feature calls in all), then forgets the audio that call
/// left (so what the phone records next is the campaign call).
fn login(d: &Daemon, phone: &Phone, port: u16, done: usize) {
    let resp = phone.command("dial", &format!("sip:*71@127.0.0.1:{port}"));
    assert!(resp.contains("\"ok\":true"), "dial refused: {resp}");
    let needle = format!("agent=Some(\"{}\") from=LoggedOut to=Ready", phone.ext);
    assert!(
        d.wait_log(&needle, Duration::from_secs(15)),
        "{} never logged in:\n{}\n--- phone:\n{}",
        phone.ext,
        d.log_text(),
        phone.log()
    );
    assert!(
        poll_until(Duration::from_secs(15), || feature_calls_done(d) >= done),
        "the login call never ended:\n{}",
        d.log_text()
    );
    for f in std::fs::read_dir(phone.home.join("snd")).unwrap().flatten() {
        std::fs::remove_file(f.path()).unwrap();
    }
}

/// Campaign events from the bus, collected in the background.
async fn follow(ch: Channel) -> Seen {
    follow_kinds(ch, &[pb::EventKind::Campaign]).await
}

/// Events of `kinds` from the bus, collected in the background.
async fn follow_kinds(ch: Channel, kinds: &[pb::EventKind]) -> Seen {
    let req = pb::SubscribeRequest {
        kinds: kinds.iter().map(|&k| k as i32).collect(),
        ..Default::default()
    };
    subscribe(ch, req).await
}

/// (call id, kind, agent) of each campaign event seen so far.
fn campaign_events(seen: &Seen) -> Vec<(String, pb::CampaignEventKind, String)> {
    seen.lock()
        .unwrap()
        .iter()
        .filter_map(|e| match &e.payload {
            Some(pb::event::Payload::Campaign(c)) => Some((
                e.call_id.clone(),
                pb::CampaignEventKind::try_from(c.kind).unwrap_or_default(),
                e.agent.clone(),
            )),
            _ => None,
        })
        .collect()
}

async fn spring(ch: Channel) -> pb::CampaignInfo {
    let mut c = pb::control_client::ControlClient::new(ch);
    let list = c
        .list_campaigns(authed(pb::ListCampaignsRequest {}, READ))
        .await
        .expect("ListCampaigns")
        .into_inner();
    list.campaigns
        .into_iter()
        .find(|c| c.name == "spring")
        .expect("campaign spring listed")
}

/// Poll ListCampaigns until `f` holds (deadline `secs`).
async fn wait_stats(ch: &Channel, secs: u64, what: &str, f: impl Fn(&pb::CampaignInfo) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let s = spring(ch.clone()).await;
        if f(&s) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}: {s:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn start(ch: Channel, token: &str, name: &str) -> Result<pb::CampaignInfo, tonic::Status> {
    let mut c = pb::control_client::ControlClient::new(ch);
    c.start_campaign(authed(
        pb::CampaignRequest {
            campaign: name.into(),
        },
        token,
    ))
    .await
    .map(|r| r.into_inner().campaign.expect("campaign in the reply"))
}

/// The finished campaign CDR of `number` (waits for it).
fn campaign_cdr(d: &Daemon, number: &str) -> CdrRow {
    let db = d.dir.join("switchboard.db");
    let mut found = None;
    assert!(
        poll_until(Duration::from_secs(40), || {
            found = cdrs(&db)
                .into_iter()
                .find(|r| r.direction == "campaign" && r.callee == number && r.end_cause.is_some());
            found.is_some()
        }),
        "no finished CDR for {number}: {:#?}\n{}",
        cdrs(&db),
        d.log_text()
    );
    found.expect("found by the poll")
}

#[test]
fn a_progressive_campaign_connects_a_person_to_an_agent_and_records_busy_and_no_answer() {
    let dir = temp_dir();
    let (port, farm_port, api_port) = (free_port(), free_port(), free_port());
    let d = Daemon::start(
        dir.path(),
        port,
        &config(
            dir.path(),
            port,
            farm_port,
            api_port,
            "mode = \"progressive\"\nnumbers = [\"+15550101\", \"+15550102\", \"+15550103\"]\n",
        ),
    );
    let [bob, carol] = logged_in(&d, port, [("bob", "1002"), ("carol", "1003")]);
    let mut farm = farm(dir.path(), farm_port, 3);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ch = channel(api_port).await;
        let seen = follow(ch.clone()).await;
        // Stopped (enabled = false): both agents ready, nothing dialled.
        let s = spring(ch.clone()).await;
        assert_eq!(
            (s.state.as_str(), s.dials, s.agents),
            ("stopped", 0, 2),
            "{s:#?}"
        );
        // Starting is admin's: the control scope is refused, an unknown name is NOT_FOUND.
        let e = start(ch.clone(), CONTROL, "spring").await.unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
        let e = start(ch.clone(), ADMIN, "autumn").await.unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "{e:?}");
        assert!(e.message().contains("ListCampaigns"), "{e:?}");
        let s = start(ch.clone(), ADMIN, "spring").await.expect("started");
        assert_eq!(s.state, "running");
        // Two ready agents: two dials (the person and the busy line), then the third lead
        // once busy frees a line.
        wait_stats(&ch, 30, "a connect and a busy", |s| {
            s.connected == 1 && s.busy == 1 && s.dials == 3
        })
        .await;
        // The person's call went dialed -> answered -> connected, to one of our agents.
        let evs = campaign_events(&seen);
        let connected = evs
            .iter()
            .find(|(_, k, _)| *k == pb::CampaignEventKind::Connected)
            .cloned()
            .unwrap_or_else(|| panic!("no connected event: {evs:#?}"));
        let order: Vec<pb::CampaignEventKind> = evs
            .iter()
            .filter(|(c, ..)| *c == connected.0)
            .map(|(_, k, _)| *k)
            .collect();
        use pb::CampaignEventKind as K;
        assert_eq!(order, [K::Dialed, K::Answered, K::Connected], "{evs:#?}");
        let agent = if connected.2 == "1002" { &bob } else { &carol };
        assert!(
            connected.2 == "1002" || connected.2 == "1003",
            "{connected:?}"
        );
        // The agent hears the customer's 1000 Hz tone; then hangs up.
        assert!(
            poll_until(Duration::from_secs(10), || dec_bytes(agent) > 48_000),
            "the agent decoded no audio:\n{}",
            agent.log()
        );
        let resp = agent.command("hangup", "");
        assert!(resp.contains("\"ok\":true"), "{resp}");
        assert_hears(agent, 1000.0, 440.0);
        // The never-answering number rings its 15 s, is cancelled: a no-answer.
        wait_stats(&ch, 40, "the no-answer", |s| {
            s.no_answer == 1 && s.in_progress == 0
        })
        .await;
        let s = spring(ch.clone()).await;
        assert_eq!((s.answered, s.abandoned, s.failed), (1, 0, 0), "{s:#?}");
        let mut c = pb::control_client::ControlClient::new(ch.clone());
        let paused = c
            .pause_campaign(authed(
                pb::CampaignRequest {
                    campaign: "spring".into(),
                },
                ADMIN,
            ))
            .await
            .expect("paused")
            .into_inner();
        assert_eq!(paused.campaign.unwrap().state, "paused");
    });
    let person = campaign_cdr(&d, "+15550101");
    assert!(person.answered);
    assert!(
        person.agent.as_deref() == Some("1002") || person.agent.as_deref() == Some("1003"),
        "{person:?}"
    );
    assert_eq!(person.queue.as_deref(), Some("outbound"));
    assert_eq!(person.trunk.as_deref(), Some("farm"));
    assert!(
        person.a_to_b > 0 && person.b_to_a > 0,
        "RTP both ways: {person:?}"
    );
    assert_eq!(
        campaign_cdr(&d, "+15550102").end_cause.as_deref(),
        Some("busy")
    );
    assert_eq!(
        campaign_cdr(&d, "+15550103").end_cause.as_deref(),
        Some("no-answer")
    );
    assert_eq!(
        farm.wait(Duration::from_secs(30)),
        Some(true),
        "every customer's scenario (answer, busy, cancel) completed: {}",
        std::fs::read_to_string(dir.path().join("farm.errors.log")).unwrap_or_default()
    );
}

#[test]
fn people_nobody_can_take_in_time_hear_the_abandon_message_and_count_as_abandoned() {
    let dir = temp_dir();
    let (port, farm_port, api_port) = (free_port(), free_port(), free_port());
    let d = Daemon::start(
        dir.path(),
        port,
        &config(
            dir.path(),
            port,
            farm_port,
            api_port,
            "mode = \"fixed_ratio\"\nratio = 3\nnumbers = [\"+15550111\", \"+15550121\", \"+15550131\"]\n",
        ),
    );
    // One agent: three dials, three people answer, one agent to take them.
    let [bob] = logged_in(&d, port, [("bob", "1002")]);
    let mut farm = farm(dir.path(), farm_port, 3);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ch = channel(api_port).await;
        let seen = follow(ch.clone()).await;
        start(ch.clone(), ADMIN, "spring").await.expect("started");
        wait_stats(&ch, 30, "one connect and two abandons", |s| {
            s.connected == 1 && s.abandoned == 2
        })
        .await;
        let s = spring(ch.clone()).await;
        assert_eq!((s.dials, s.answered), (3, 3), "{s:#?}");
        assert!((s.abandon_rate - 2.0 / 3.0).abs() < 1e-9, "{s:#?}");
        let evs = campaign_events(&seen);
        let abandoned: Vec<_> = evs
            .iter()
            .filter(|(_, k, _)| *k == pb::CampaignEventKind::Abandoned)
            .collect();
        assert_eq!(abandoned.len(), 2, "{evs:#?}");
        for (call, ..) in abandoned {
            let order: Vec<_> = evs
                .iter()
                .filter(|(c, ..)| c == call)
                .map(|(_, k, _)| *k)
                .collect();
            use pb::CampaignEventKind as K;
            assert_eq!(order, [K::Dialed, K::Answered, K::Abandoned], "{evs:#?}");
        }
        let resp = bob.command("hangup", "");
        assert!(resp.contains("\"ok\":true"), "{resp}");
    });
    let db = d.dir.join("switchboard.db");
    assert!(
        poll_until(Duration::from_secs(30), || cdrs(&db)
            .iter()
            .filter(|r| r.end_cause.as_deref() == Some("campaign-abandoned"))
            .count()
            == 2),
        "two abandoned CDRs (after the message): {:#?}",
        cdrs(&db)
    );
    // The message played before our BYE: the abandoned customers got our audio.
    for r in cdrs(&db)
        .iter()
        .filter(|r| r.end_cause.as_deref() == Some("campaign-abandoned"))
    {
        assert!(r.answered && r.agent.is_none(), "{r:?}");
    }
    assert!(
        d.log_text().contains("no agent within the reach time"),
        "{}",
        d.log_text()
    );
    assert_eq!(
        farm.wait(Duration::from_secs(30)),
        Some(true),
        "every customer got our BYE: {}",
        std::fs::read_to_string(dir.path().join("farm.errors.log")).unwrap_or_default()
    );
}

#[test]
fn a_predictive_campaign_places_calls_and_connects_them() {
    let dir = temp_dir();
    let (port, farm_port, api_port) = (free_port(), free_port(), free_port());
    let d = Daemon::start(
        dir.path(),
        port,
        &config(
            dir.path(),
            port,
            farm_port,
            api_port,
            "mode = \"predictive\"\nnumbers = [\"+15550161\", \"+15550162\"]\n",
        ),
    );
    let [bob] = logged_in(&d, port, [("bob", "1002")]);
    let mut farm = farm(dir.path(), farm_port, 2);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ch = channel(api_port).await;
        let s = start(ch.clone(), ADMIN, "spring").await.expect("started");
        assert_eq!(s.mode, "predictive");
        // Too few samples to predict from: it paces like progressive, one dial for the one
        // ready agent; the person reaches Bob and nothing more is dialled while they talk.
        wait_stats(&ch, 30, "a connect", |s| s.connected == 1).await;
        let s = spring(ch.clone()).await;
        assert_eq!((s.dials, s.abandoned), (1, 0), "{s:#?}");
        assert!(
            poll_until(Duration::from_secs(10), || dec_bytes(&bob) > 16_000),
            "Bob decoded no audio:\n{}",
            bob.log()
        );
        let resp = bob.command("hangup", "");
        assert!(resp.contains("\"ok\":true"), "{resp}");
        // Bob's wrap-up over, the next lead is dialled: the busy line.
        wait_stats(&ch, 30, "the busy line after the talk", |s| {
            s.busy == 1 && s.dials == 2
        })
        .await;
    });
    let person = campaign_cdr(&d, "+15550161");
    assert_eq!(person.agent.as_deref(), Some("1002"));
    assert!(
        person.a_to_b > 0 && person.b_to_a > 0,
        "RTP both ways: {person:?}"
    );
    assert_eq!(farm.wait(Duration::from_secs(30)), Some(true));
}

#[test]
fn a_campaign_started_over_the_api_is_still_running_after_kill_9() {
    let dir = temp_dir();
    let (port, farm_port, api_port) = (free_port(), free_port(), free_port());
    let mut d = Daemon::start(
        dir.path(),
        port,
        &config(
            dir.path(),
            port,
            farm_port,
            api_port,
            "mode = \"progressive\"\n",
        ),
    );
    // An independent client (Python grpcio) starts it; the reply comes once it is on disk.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/api_campaigns.py");
    let out = std::process::Command::new("python3")
        .args([
            script,
            &format!("127.0.0.1:{api_port}"),
            READ,
            ADMIN,
            "spring",
        ])
        .output()
        .expect("python3");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python client failed: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_str(text.trim()).expect("one JSON line");
    assert_eq!(got["before"], "stopped", "{got}");
    assert_eq!(got["denied"], "PERMISSION_DENIED", "{got}");
    assert_eq!(got["started"], "running", "{got}");
    assert_eq!(got["after"], "running", "{got}");
    assert_eq!(
        got["dials"], 0,
        "no numbers, no agents: nothing to dial: {got}"
    );
    // Preview rpcs: `control` scope; an agent not logged in is a state to fix, not a name.
    assert_eq!(got["preview_denied"], "PERMISSION_DENIED", "{got}");
    assert_eq!(got["preview"], "FAILED_PRECONDITION", "{got}");
    assert!(
        got["preview_detail"]
            .as_str()
            .is_some_and(|d| d.contains("AgentLogin")),
        "{got}"
    );
    assert_eq!(got["preview_unknown"], "NOT_FOUND", "{got}");
    // UpdateCampaign: `admin` scope; a setting the config would refuse is refused.
    assert_eq!(got["update_denied"], "PERMISSION_DENIED", "{got}");
    assert_eq!(got["update_invalid"], "INVALID_ARGUMENT", "{got}");
    assert!(
        got["update_detail"]
            .as_str()
            .is_some_and(|d| d.contains("ring_timeout_secs") && d.contains("15")),
        "{got}"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    d.kill9();
    let d = Daemon::start_with(dir.path(), port, &d.config);
    rt.block_on(async {
        let ch = channel(api_port).await;
        assert_eq!(
            spring(ch).await.state,
            "running",
            "the config says enabled = false; the store remembers the start:\n{}",
            d.log_text()
        );
    });
}

async fn update(
    ch: Channel,
    req: pb::UpdateCampaignRequest,
) -> Result<pb::CampaignInfo, tonic::Status> {
    let mut c = pb::control_client::ControlClient::new(ch);
    c.update_campaign(authed(req, ADMIN))
        .await
        .map(|r| r.into_inner().campaign.expect("campaign in the reply"))
}

#[test]
fn campaign_settings_changed_over_the_api_are_checked_shown_and_survive_kill_9() {
    let dir = temp_dir();
    let (port, farm_port, api_port) = (free_port(), free_port(), free_port());
    let mut d = Daemon::start(
        dir.path(),
        port,
        &config(
            dir.path(),
            port,
            farm_port,
            api_port,
            "mode = \"progressive\"\n",
        ),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let req = |f: fn(&mut pb::UpdateCampaignRequest)| {
        let mut r = pb::UpdateCampaignRequest {
            campaign: "spring".into(),
            ..Default::default()
        };
        f(&mut r);
        r
    };
    rt.block_on(async {
        let ch = channel(api_port).await;
        let before = spring(ch.clone()).await;
        assert_eq!(
            (
                before.caller_id.as_str(),
                before.ring_timeout_secs,
                before.max_lines
            ),
            ("+15551230000", 15, 5),
            "the config's values: {before:#?}"
        );
        let e = update(ch.clone(), req(|r| r.ring_timeout_secs = Some(10)))
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
        assert!(
            e.message().contains("ring_timeout_secs") && e.message().contains("15"),
            "{e:?}"
        );
        let mut unknown = req(|r| r.max_lines = Some(3));
        unknown.campaign = "autumn".into();
        let e = update(ch.clone(), unknown).await.unwrap_err();
        assert_eq!(e.code(), Code::NotFound, "{e:?}");
        let got = update(
            ch.clone(),
            req(|r| {
                r.caller_id = Some("+15559876543".into());
                r.max_abandon_rate = Some(0.02);
            }),
        )
        .await
        .expect("UpdateCampaign");
        assert_eq!(got.caller_id, "+15559876543", "{got:#?}");
        assert_eq!(got.max_abandon_rate, 0.02, "{got:#?}");
        let listed = spring(ch).await;
        assert_eq!(
            (listed.caller_id.as_str(), listed.max_abandon_rate),
            ("+15559876543", 0.02),
            "{listed:#?}"
        );
        assert_eq!(listed.overridden, ["caller_id", "max_abandon_rate"]);
        assert_eq!(
            listed.ring_timeout_secs, 15,
            "the refused update changed nothing"
        );
    });
    d.kill9();
    let d = Daemon::start_with(dir.path(), port, &d.config);
    rt.block_on(async {
        let ch = channel(api_port).await;
        let after = spring(ch.clone()).await;
        assert_eq!(
            (after.caller_id.as_str(), after.max_abandon_rate),
            ("+15559876543", 0.02),
            "the overrides are re-applied over the config:\n{after:#?}\n{}",
            d.log_text()
        );
        assert!(
            d.wait_log(
                "campaign overrides (UpdateCampaign) applied",
                Duration::from_secs(10)
            ),
            "{}",
            d.log_text()
        );
        // `clear`: back to the config's values, and that is stored too.
        let cleared = update(ch.clone(), req(|r| r.clear = true))
            .await
            .expect("clear");
        assert_eq!(cleared.caller_id, "+15551230000", "{cleared:#?}");
        assert_eq!(cleared.max_abandon_rate, 0.03, "{cleared:#?}");
        assert!(cleared.overridden.is_empty(), "{cleared:#?}");
    });
}

#[test]
fn a_stored_override_the_config_no_longer_allows_is_skipped_at_startup() {
    let dir = temp_dir();
    let (port, farm_port, api_port) = (free_port(), free_port(), free_port());
    let fixed = "mode = \"fixed_ratio\"\nratio = 2.0\n";
    let mut d = Daemon::start(
        dir.path(),
        port,
        &config(dir.path(), port, farm_port, api_port, fixed),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ch = channel(api_port).await;
        // A ratio alone: fine while the config says fixed_ratio.
        let got = update(
            ch,
            pb::UpdateCampaignRequest {
                campaign: "spring".into(),
                ratio: Some(3.0),
                ..Default::default()
            },
        )
        .await
        .expect("UpdateCampaign");
        assert_eq!(
            (got.mode.as_str(), got.ratio),
            ("fixed_ratio", 3.0),
            "{got:#?}"
        );
    });
    d.kill9();
    // The config moves the campaign to progressive: a ratio no longer applies.
    let text = std::fs::read_to_string(&d.config).unwrap();
    assert!(text.contains(fixed));
    std::fs::write(&d.config, text.replace(fixed, "mode = \"progressive\"\n")).unwrap();
    let d = Daemon::start_with(dir.path(), port, &d.config);
    rt.block_on(async {
        let ch = channel(api_port).await;
        let after = spring(ch).await;
        assert_eq!(
            (after.mode.as_str(), after.ratio),
            ("progressive", 0.0),
            "{after:#?}"
        );
        assert!(after.overridden.is_empty(), "{after:#?}");
    });
    assert!(
        d.wait_log("stored campaign overrides skipped", Duration::from_secs(10)),
        "{}",
        d.log_text()
    );
}

/// Run `switchboard ARGS...`; its stdout, asserting it succeeded.
fn cli(args: &[&str]) -> String {
    let out = std::process::Command::new(bin())
        .args(args)
        .output()
        .expect("run switchboard");
    assert!(
        out.status.success(),
        "switchboard {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `switchboard leads list --json` of campaign spring: number → (state, attempts,
/// last outcome, next dial time in unix ms).
fn leads(config: &Path) -> std::collections::HashMap<String, (String, u64, String, i64)> {
    let out = cli(&[
        "leads",
        "list",
        "--config",
        config.to_str().unwrap(),
        "--campaign",
        "spring",
        "--json",
    ]);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&out).expect("leads list JSON");
    rows.iter()
        .map(|r| {
            (
                r["number"].as_str().unwrap_or_default().to_string(),
                (
                    r["state"].as_str().unwrap_or_default().to_string(),
                    r["attempts"].as_u64().unwrap_or_default(),
                    r["last_outcome"].as_str().unwrap_or_default().to_string(),
                    r["next_at_ms"].as_i64().unwrap_or_default(),
                ),
            )
        })
        .collect()
}

/// (result, agent) of each attempt at `number` in the lead book, oldest first.
fn attempts(d: &Daemon, number: &str) -> Vec<(Option<String>, Option<String>)> {
    let conn = rusqlite::Connection::open(d.dir.join("switchboard.db")).expect("the store");
    let mut stmt = conn
        .prepare(
            "SELECT a.result, a.agent FROM lead_attempts a JOIN leads l ON l.id = a.lead
             WHERE l.number = ?1 ORDER BY a.id",
        )
        .expect("lead_attempts");
    stmt.query_map([number], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect()
}

#[test]
fn a_preview_agent_sees_a_lead_skips_it_and_dials_the_next_with_their_phone_first() {
    let dir = temp_dir();
    let (port, farm_port, api_port) = (free_port(), free_port(), free_port());
    let text = config_with_leads(
        dir.path(),
        port,
        farm_port,
        api_port,
        "mode = \"preview\"\n",
        "window = { default = \"00:00-24:00\" }",
    )
    // Long enough a wrap-up to see it over gRPC.
    .replace("wrap_up_secs = 1", "wrap_up_secs = 3");
    let config = dir.path().join("switchboard.toml");
    std::fs::write(&config, &text).unwrap();
    let cfg = config.to_str().unwrap();
    // Both answer at the farm (last digit 1 and 4).
    let (first, second) = ("+12015550101", "+12015550104");
    let csv = dir.path().join("leads.csv");
    std::fs::write(
        &csv,
        format!("phone,name,account\n{first},Ann,A-1\n{second},Eve,A-4\n"),
    )
    .unwrap();
    let report = cli(&[
        "leads",
        "import",
        "--config",
        cfg,
        "--campaign",
        "spring",
        csv.to_str().unwrap(),
    ]);
    assert!(report.contains("2 imported"), "{report}");
    let d = Daemon::start_with(dir.path(), port, &config);
    let [bob] = logged_in(&d, port, [("bob", "1002")]);
    let mut farm = farm(dir.path(), farm_port, 1);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ch = channel(api_port).await;
        let seen = follow(ch.clone()).await;
        let mut c = pb::control_client::ControlClient::new(ch.clone());
        let get = |c: &mut pb::control_client::ControlClient<Channel>| {
            let mut c = c.clone();
            async move {
                c.get_preview_lead(authed(
                    pb::GetPreviewLeadRequest {
                        agent: "1002".into(),
                    },
                    CONTROL,
                ))
                .await
                .map(|r| r.into_inner().lead.expect("a lead in the reply"))
            }
        };
        // Stopped (enabled = false): a state to fix, said so.
        let e = get(&mut c).await.unwrap_err();
        assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
        assert!(e.message().contains("StartCampaign"), "{e:?}");
        start(ch.clone(), ADMIN, "spring").await.expect("started");
        let lead = get(&mut c).await.expect("the first lead");
        assert_eq!(
            (lead.number.as_str(), lead.name.as_str(), lead.attempt_no),
            (first, "Ann", 1)
        );
        assert_eq!(lead.fields.get("account").map(String::as_str), Some("A-1"));
        assert_eq!(
            get(&mut c).await.unwrap(),
            lead,
            "the same lead until dialed or skipped"
        );
        // Pacing dials nothing in preview mode.
        assert_eq!(spring(ch.clone()).await.dials, 0);
        let wrong = c
            .dial_preview_lead(authed(
                pb::PreviewLeadRequest {
                    agent: "1002".into(),
                    lead_id: lead.lead_id + 1,
                },
                CONTROL,
            ))
            .await
            .unwrap_err();
        assert_eq!(wrong.code(), Code::InvalidArgument, "{wrong:?}");
        c.skip_preview_lead(authed(
            pb::PreviewLeadRequest {
                agent: "1002".into(),
                lead_id: lead.lead_id,
            },
            CONTROL,
        ))
        .await
        .expect("skipped");
        let next = get(&mut c).await.expect("the next lead");
        assert_eq!((next.number.as_str(), next.name.as_str()), (second, "Eve"));
        assert_eq!(next.fields.get("account").map(String::as_str), Some("A-4"));
        let dialed = c
            .dial_preview_lead(authed(
                pb::PreviewLeadRequest {
                    agent: "1002".into(),
                    lead_id: next.lead_id,
                },
                CONTROL,
            ))
            .await
            .expect("dialed")
            .into_inner();
        assert_eq!(dialed.attempt_id, next.attempt_id);
        assert!(!dialed.call_id.is_empty());
        wait_stats(&ch, 30, "the preview call connected", |s| {
            s.connected == 1 && s.dials == 1
        })
        .await;
        use pb::CampaignEventKind as K;
        let evs: Vec<(K, String)> = campaign_events(&seen)
            .into_iter()
            .filter(|(call, ..)| *call == dialed.call_id)
            .map(|(_, k, a)| (k, a))
            .collect();
        assert_eq!(
            evs,
            [
                (K::Dialed, String::new()),
                (K::Answered, String::new()),
                (K::Connected, "1002".to_string())
            ],
        );
        // The agent hears the customer's tone, then hangs up.
        assert!(
            poll_until(Duration::from_secs(10), || dec_bytes(&bob) > 48_000),
            "the agent decoded no audio:\n{}",
            bob.log()
        );
        let resp = bob.command("hangup", "");
        assert!(resp.contains("\"ok\":true"), "{resp}");
        assert_hears(&bob, 1000.0, 440.0);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while !campaign_events(&seen)
            .iter()
            .any(|(call, k, _)| *call == dialed.call_id && *k == K::Ended)
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no ENDED event: {:#?}",
                campaign_events(&seen)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let s = spring(ch.clone()).await;
        assert_eq!(
            (s.answered, s.in_progress, s.abandoned),
            (1, 0, 0),
            "{s:#?}"
        );
        // As after a queue call: the outbound queue's wrap-up, then Ready.
        let mut acd = pb::control_client::ControlClient::new(ch.clone());
        for want in [pb::AgentState::WrapUp, pb::AgentState::Ready] {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            loop {
                let agents = acd
                    .list_agents(authed(pb::ListAgentsRequest {}, READ))
                    .await
                    .expect("list agents")
                    .into_inner()
                    .agents;
                let bob = agents.iter().find(|a| a.agent == "1002").expect("bob");
                if bob.state == want as i32 {
                    break;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the agent never got to {want:?}: {bob:?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    let cdr = campaign_cdr(&d, second);
    assert!(cdr.answered);
    assert_eq!(cdr.agent.as_deref(), Some("1002"));
    assert_eq!(cdr.trunk.as_deref(), Some("farm"));
    assert!(cdr.a_to_b > 0 && cdr.b_to_a > 0, "RTP both ways: {cdr:?}");
    assert_eq!(dialled(&d, first), 0, "the skipped lead was never dialed");
    assert_eq!(
        attempts(&d, second),
        [(Some("connected".into()), Some("1002".into()))]
    );
    assert_eq!(
        attempts(&d, first),
        [(Some("skipped".into()), Some("1002".into()))]
    );
    let book = leads(&config);
    assert_eq!(book[second].2, "connected", "{book:?}");
    assert_eq!(
        book[first].1, 0,
        "a skip does not count as an attempt: {book:?}"
    );
    assert_eq!(
        farm.wait(Duration::from_secs(30)),
        Some(true),
        "the customer's scenario completed: {}",
        std::fs::read_to_string(dir.path().join("farm.errors.log")).unwrap_or_default()
    );
}

/// Campaign CDRs that dialled `number`.
fn dialled(d: &Daemon, number: &str) -> usize {
    cdrs(&d.dir.join("switchboard.db"))
        .into_iter()
        .filter(|r| r.direction == "campaign" && r.callee == number)
        .count()
}

#[test]
fn leads_from_the_lead_book_skip_dnc_schedule_retries_and_survive_kill_9() {
    let dir = temp_dir();
    let (port, farm_port, api_port) = (free_port(), free_port(), free_port());
    // No `numbers`: the campaign dials from the lead book. Busy retries in an hour (so not
    // within this test); open all day so the test does not depend on the clock.
    let text = config_with_leads(
        dir.path(),
        port,
        farm_port,
        api_port,
        "mode = \"progressive\"\n",
        // The last table of the file: `[dispositions]` may follow.
        "max_attempts = 3\nretry_busy_secs = 3600\nwindow = { default = \"00:00-24:00\" }\n\n\
         [dispositions]\ncodes = [{ code = \"sale\", final = true }]",
    );
    let config = dir.path().join("switchboard.toml");
    std::fs::write(&config, &text).unwrap();
    let cfg = config.to_str().unwrap();
    // By last digit (the farm): 1 answers, 2 busy, 3 never answers, 4 answers. The ...11
    // lead answers too, but goes on the do-not-call list after the import.
    let (person, busy, dnc, ringing, later) = (
        "+12015550101",
        "+12015550102",
        "+12015550111",
        "+12015550103",
        "+12015550104",
    );
    let csv = dir.path().join("leads.csv");
    std::fs::write(
        &csv,
        format!("phone,name\n{person},Ann\n{busy},Ben\n{dnc},Cid\n{ringing},Dee\n{later},Eve\n"),
    )
    .unwrap();
    let report = cli(&[
        "leads",
        "import",
        "--config",
        cfg,
        "--campaign",
        "spring",
        csv.to_str().unwrap(),
    ]);
    assert!(report.contains("5 imported"), "{report}");
    cli(&["dnc", "add", "--config", cfg, "--campaign", "spring", dnc]);
    let mut d = Daemon::start_with(dir.path(), port, &config);
    let [bob] = logged_in(&d, port, [("bob", "1002")]);
    // The person, the busy line, the ringing one, and (after the restart) the later one.
    let _farm = farm(dir.path(), farm_port, 4);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ch = channel(api_port).await;
        let seen = follow(ch.clone()).await;
        start(ch.clone(), ADMIN, "spring").await.expect("started");
        wait_stats(&ch, 30, "the person connected", |s| s.connected == 1).await;
        // The agent's disposition of the campaign call reaches the lead (final: done).
        let call_id = campaign_events(&seen)
            .into_iter()
            .find(|(_, k, _)| *k == pb::CampaignEventKind::Connected)
            .map(|(c, ..)| c)
            .unwrap_or_else(|| panic!("no connected event: {:#?}", campaign_events(&seen)));
        pb::control_client::ControlClient::new(ch.clone())
            .set_disposition(authed(
                pb::SetDispositionRequest {
                    call_id,
                    code: "sale".into(),
                    notes: None,
                    callback_at_unix_ms: None,
                },
                CONTROL,
            ))
            .await
            .expect("disposition");
        assert!(
            poll_until(Duration::from_secs(10), || leads(&config)[person].0
                == "done"),
            "the sale did not close the lead: {:#?}",
            leads(&config)
        );
        assert!(
            poll_until(Duration::from_secs(10), || dec_bytes(&bob) > 16_000),
            "the agent decoded no audio:\n{}",
            bob.log()
        );
        let resp = bob.command("hangup", "");
        assert!(resp.contains("\"ok\":true"), "{resp}");
        // Wrap-up over: busy, then (DNC skipped) the never-answering number rings.
        wait_stats(&ch, 40, "the busy and the ringing dial", |s| {
            s.busy == 1 && s.dials == 3 && s.in_progress == 1
        })
        .await;
    });
    // Die while the third lead rings: its attempt is left "dialing".
    d.kill9();
    assert_eq!(leads(&config)[ringing].0, "dialing");
    let d = Daemon::start_with(dir.path(), port, &config);
    // Pacing's abandon controller starts from the book's figures: one live answer, connected.
    assert!(
        d.wait_log("live=1 abandoned=0", Duration::from_secs(10)),
        "pacing not seeded from the lead book:\n{}",
        d.log_text()
    );
    rt.block_on(async {
        let ch = channel(api_port).await;
        // The campaign is still running after the restart, the agent still logged in: the
        // next lead connects to bob.
        wait_stats(&ch, 60, "the later lead connected", |s| s.connected == 1).await;
    });
    let resp = bob.command("hangup", "");
    assert!(resp.contains("\"ok\":true"), "{resp}");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let l = leads(&config);
    // Never dialled: the DNC number reached neither the farm nor a CDR.
    assert_eq!(dialled(&d, dnc), 0);
    assert_eq!((l[dnc].0.as_str(), l[dnc].1), ("dnc", 0), "{l:#?}");
    // Busy: a retry in about an hour.
    let (state, attempts, outcome, next) = &l[busy];
    assert_eq!(
        (state.as_str(), *attempts, outcome.as_str()),
        ("retry", 1, "busy"),
        "{l:#?}"
    );
    assert!(
        *next > now_ms + 3_000_000,
        "busy retry at {next}, now {now_ms}"
    );
    // The crash's open attempt was closed as interrupted and is not dialled again now.
    let (state, attempts, outcome, next) = &l[ringing];
    assert_eq!(
        (state.as_str(), *attempts, outcome.as_str()),
        ("retry", 1, "interrupted"),
        "{l:#?}"
    );
    assert!(*next > now_ms + 600_000, "interrupted retry at {next}");
    // No lead was dialled twice: one CDR per attempt at most, one attempt each.
    for n in [person, busy, ringing, later] {
        assert_eq!(l[n].1, 1, "{n}: {l:#?}");
        assert!(
            dialled(&d, n) <= 1,
            "{n} dialled twice: {:#?}",
            cdrs(&d.dir.join("switchboard.db"))
        );
    }
    for n in [person, busy, later] {
        assert_eq!(dialled(&d, n), 1, "{n}");
    }
}

/// Raw PCMU of corpus clip `family` (seeded: an AMD or a SIT family), with `pad_ms` of
/// silence after it.
fn corpus_ulaw(dir: &Path, family: &str, pad_ms: usize) -> String {
    use switchboard::dialer::amd::corpus::{amd_clips, sit_clips};
    let mut audio = amd_clips(7, 1)
        .into_iter()
        .chain(sit_clips(7, 1))
        .find(|c| c.family == family)
        .expect("the corpus has the family")
        .audio;
    audio.extend(std::iter::repeat_n(0i16, pad_ms * 8));
    let path = dir.join(format!("{family}.ulaw"));
    let bytes: Vec<u8> = audio
        .iter()
        .map(|&s| switchboard::media::g711::ulaw_encode(s))
        .collect();
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

/// The AMD farm (tests/sipp/dialer_amd_uas.xml) for `calls` calls.
fn amd_farm(dir: &Path, port: u16, calls: usize) -> sipp::Uas {
    // The machine streams a long greeting (looped); the person says hello, then listens; the
    // dead number plays a SIT and its announcement as early media.
    let greeting = corpus_ulaw(dir, "greeting", 0);
    let hello = corpus_ulaw(dir, "hello", 4000);
    let sit = corpus_ulaw(dir, "sit-VC", 1000);
    let scen = sipp::filled(
        dir,
        "dialer_amd_uas.xml",
        &[
            ("GREETING_FILE", &greeting),
            ("HELLO_FILE", &hello),
            ("SIT_FILE", &sit),
        ],
    );
    sipp::Uas::spawn(
        dir,
        "farm",
        &scen,
        (port, free_port()),
        calls,
        &["-timeout", "90s"],
    )
}

#[test]
fn with_amd_a_machine_is_hung_up_and_counted_and_a_person_reaches_the_agent() {
    let dir = temp_dir();
    let (port, farm_port, api_port) = (free_port(), free_port(), free_port());
    let d = Daemon::start(
        dir.path(),
        port,
        &config(
            dir.path(),
            port,
            farm_port,
            api_port,
            "mode = \"progressive\"\nnumbers = [\"+15550175\", \"+15550171\"]\n\
             machine_action = \"hangup\"\n[campaigns.amd]\nenabled = true\n",
        ),
    );
    let [bob] = logged_in(&d, port, [("bob", "1002")]);
    let mut farm = amd_farm(dir.path(), farm_port, 2);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ch = channel(api_port).await;
        let seen = follow(ch.clone()).await;
        start(ch.clone(), ADMIN, "spring").await.expect("started");
        wait_stats(&ch, 60, "a machine and a connect", |s| {
            s.machines == 1 && s.connected == 1
        })
        .await;
        let evs = campaign_events(&seen);
        use pb::CampaignEventKind as K;
        let machine = evs
            .iter()
            .find(|(_, k, _)| *k == K::Machine)
            .cloned()
            .unwrap_or_else(|| panic!("no machine event: {evs:#?}"));
        let order: Vec<_> = evs
            .iter()
            .filter(|(c, ..)| *c == machine.0)
            .map(|(_, k, _)| *k)
            .collect();
        assert_eq!(
            order,
            [K::Dialed, K::Machine],
            "a machine never joins the queue: {evs:#?}"
        );
        let connected = evs
            .iter()
            .find(|(_, k, _)| *k == K::Connected)
            .cloned()
            .unwrap_or_else(|| panic!("no connected event: {evs:#?}"));
        assert_eq!(connected.2, "1002");
        let order: Vec<_> = evs
            .iter()
            .filter(|(c, ..)| *c == connected.0)
            .map(|(_, k, _)| *k)
            .collect();
        assert_eq!(order, [K::Dialed, K::Answered, K::Connected], "{evs:#?}");
        let s = spring(ch.clone()).await;
        assert_eq!((s.answered, s.abandoned, s.failed), (1, 0, 0), "{s:#?}");
        let resp = bob.command("hangup", "");
        assert!(resp.contains("\"ok\":true"), "{resp}");
    });
    let machine = campaign_cdr(&d, "+15550175");
    assert_eq!(machine.end_cause.as_deref(), Some("campaign-machine"));
    assert!(machine.agent.is_none(), "{machine:?}");
    let person = campaign_cdr(&d, "+15550171");
    assert_eq!(person.agent.as_deref(), Some("1002"), "{person:?}");
    assert!(
        d.log_text().contains("AMD verdict"),
        "the verdict is logged:\n{}",
        d.log_text()
    );
    assert_eq!(
        farm.wait(Duration::from_secs(30)),
        Some(true),
        "both customers got our BYE: {}",
        std::fs::read_to_string(dir.path().join("farm.errors.log")).unwrap_or_default()
    );
}

#[test]
fn with_amd_a_sit_in_early_media_fails_the_dial_with_its_category() {
    let dir = temp_dir();
    let (port, farm_port, api_port) = (free_port(), free_port(), free_port());
    let d = Daemon::start(
        dir.path(),
        port,
        &config(
            dir.path(),
            port,
            farm_port,
            api_port,
            "mode = \"progressive\"\nnumbers = [\"+15550176\"]\n[campaigns.amd]\nenabled = true\n",
        ),
    );
    let [_bob] = logged_in(&d, port, [("bob", "1002")]);
    let mut farm = amd_farm(dir.path(), farm_port, 1);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ch = channel(api_port).await;
        start(ch.clone(), ADMIN, "spring").await.expect("started");
        // Without SIT detection the dial would ring out at 15 s: a no-answer, not a failure.
        wait_stats(&ch, 30, "a failed dial", |s| {
            s.failed == 1 || s.no_answer == 1
        })
        .await;
        let s = spring(ch.clone()).await;
        assert_eq!((s.answered, s.no_answer, s.connected), (0, 0, 0), "{s:#?}");
    });
    let cdr = campaign_cdr(&d, "+15550176");
    assert_eq!(cdr.end_cause.as_deref(), Some("campaign-sit"), "{cdr:?}");
    assert!(!cdr.answered);
    assert!(
        d.log_text().contains("special information tone"),
        "{}",
        d.log_text()
    );
    assert_eq!(
        farm.wait(Duration::from_secs(30)),
        Some(true),
        "the dead number got our CANCEL: {}",
        std::fs::read_to_string(dir.path().join("farm.errors.log")).unwrap_or_default()
    );
}

/// The corpus's long machine greeting without its own beep and trailing silence (it ends
/// with a 400–800 ms 1000 Hz beep and 1 s of digital silence; everything from 800 ms
/// before the last sound on is cut).
fn greeting_without_beep() -> Vec<i16> {
    use switchboard::dialer::amd::corpus::amd_clips;
    let audio = amd_clips(7, 1)
        .into_iter()
        .find(|c| c.family == "greeting")
        .expect("the corpus has a greeting")
        .audio;
    let last = audio
        .iter()
        .rposition(|&s| s != 0)
        .expect("not all silence");
    let cut = (last + 1).saturating_sub(800 * 8);
    assert!(cut >= 2500 * 8, "the greeting is long: {} ms", cut / 8);
    audio[..cut].to_vec()
}

/// Raw PCMU of the greeting, then (with `beep`) a 1000 Hz beep of 400 ms, then 4 s of
/// silence: played once, so the daemon hears the silence it may wait for.
fn voicemail_ulaw(dir: &Path, beep: bool) -> String {
    let mut audio = greeting_without_beep();
    audio.extend(std::iter::repeat_n(0i16, 300 * 8));
    if beep {
        audio.extend((0..400 * 8).map(|i| {
            let t = i as f64 / 8000.0;
            ((t * 1000.0 * 2.0 * std::f64::consts::PI).sin() * 6000.0) as i16
        }));
    }
    audio.extend(std::iter::repeat_n(0i16, 4000 * 8));
    let path = dir.join(format!(
        "voicemail-{}.ulaw",
        if beep { "beep" } else { "quiet" }
    ));
    let bytes: Vec<u8> = audio
        .iter()
        .map(|&s| switchboard::media::g711::ulaw_encode(s))
        .collect();
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

/// Each `machine message starts` line's cue, in order.
fn message_cues(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("machine message starts"))
        .filter_map(|l| {
            let rest = &l[l.find("cue=")? + 4..];
            Some(
                rest.split_whitespace()
                    .next()?
                    .trim_matches('"')
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn with_amd_a_machine_message_starts_after_the_beep_or_the_silence_after_the_greeting() {
    let dir = temp_dir();
    let (port, farm_port, api_port) = (free_port(), free_port(), free_port());
    // +...7 greets, beeps, then is silent; +...8 greets, then is silent.
    let d = Daemon::start(
        dir.path(),
        port,
        &config(
            dir.path(),
            port,
            farm_port,
            api_port,
            "mode = \"progressive\"\nnumbers = [\"+15550177\", \"+15550178\"]\n\
             machine_action = \"message\"\nmachine_message = \"prompts/campaign-message.wav\"\n\
             [campaigns.amd]\nenabled = true\nmessage_wait_silence_ms = 1200\n\
             message_max_wait_secs = 8\n",
        ),
    );
    let [_bob] = logged_in(&d, port, [("bob", "1002")]);
    let beep = voicemail_ulaw(dir.path(), true);
    let quiet = voicemail_ulaw(dir.path(), false);
    let scen = sipp::filled(
        dir.path(),
        "dialer_vm_uas.xml",
        &[("BEEP_FILE", &beep), ("QUIET_FILE", &quiet)],
    );
    let mut farm = sipp::Uas::spawn(
        dir.path(),
        "farm",
        &scen,
        (farm_port, free_port()),
        2,
        &["-timeout", "90s"],
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let ch = channel(api_port).await;
        let seen = follow_kinds(
            ch.clone(),
            &[pb::EventKind::Campaign, pb::EventKind::CallEnded],
        )
        .await;
        start(ch.clone(), ADMIN, "spring").await.expect("started");
        wait_stats(&ch, 60, "two machines", |s| s.machines == 2).await;
        // (call id, when, left_message) of each machine.
        let machines: Vec<(String, i64, bool)> = seen
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match &e.payload {
                Some(pb::event::Payload::Campaign(c))
                    if c.kind == pb::CampaignEventKind::Machine as i32 =>
                {
                    Some((e.call_id.clone(), e.unix_ms, c.left_message))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            machines.iter().map(|m| m.2).collect::<Vec<_>>(),
            [true, true],
            "both got the message: {machines:?}"
        );
        // The message (6.4 s) plays out before we hang up.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        for (call, at, _) in &machines {
            let ended = loop {
                let ended = seen.lock().unwrap().iter().find_map(|e| {
                    matches!(e.payload, Some(pb::event::Payload::CallEnded(_)))
                        .then_some(e)
                        .filter(|e| e.call_id == *call)
                        .map(|e| e.unix_ms)
                });
                if let Some(t) = ended {
                    break t;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{call} never ended: {:#?}",
                    seen.lock().unwrap()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            assert!(
                ended - at >= 6000,
                "{call} hung up {} ms after the message started",
                ended - at
            );
        }
        let s = spring(ch.clone()).await;
        assert_eq!((s.connected, s.answered, s.failed), (0, 0, 0), "{s:#?}");
    });
    for number in ["+15550177", "+15550178"] {
        let cdr = campaign_cdr(&d, number);
        assert_eq!(
            cdr.end_cause.as_deref(),
            Some("campaign-machine"),
            "{cdr:?}"
        );
        assert!(cdr.agent.is_none(), "{cdr:?}");
    }
    // The beep's number was cued by its beep, the other by the silence after its greeting
    // (neither by the max wait; the quiet greeting has no tone in it, so a beep cue can only
    // be the first number's).
    assert!(
        poll_until(Duration::from_secs(10), || message_cues(&d.log_text())
            .len()
            == 2),
        "{}",
        d.log_text()
    );
    let mut cues = message_cues(&d.log_text());
    cues.sort();
    assert_eq!(cues, ["beep", "silence"], "{}", d.log_text());
    assert_eq!(
        farm.wait(Duration::from_secs(30)),
        Some(true),
        "both machines got our BYE after the message: {}",
        std::fs::read_to_string(dir.path().join("farm.errors.log")).unwrap_or_default()
    );
}
