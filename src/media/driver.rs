//! The daemon's side of media: carries out `MediaCommand`s by starting, steering and
//! stopping relay tasks.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::prompt::Prompt;
use super::relay::{self, RecordCmd, RelayCmd, RelayHandle};
use crate::recording::Recorder;
use crate::sip::endpoint::calls::RecordOp;
use crate::sip::endpoint::calls::{CallRef, MediaCommand, MediaEvent};

pub struct MediaDriver {
    ip: IpAddr,
    rtp_timeout: Option<Duration>,
    relays: HashMap<CallRef, RelayHandle>,
    events: mpsc::UnboundedSender<(CallRef, MediaEvent)>,
    /// Every prompt by name: the configured ones and the built-in tones.
    prompts: HashMap<String, Prompt>,
    recorder: Option<Recorder>,
}

impl MediaDriver {
    pub fn new(
        ip: IpAddr,
        rtp_timeout: Option<Duration>,
        events: mpsc::UnboundedSender<(CallRef, MediaEvent)>,
    ) -> Self {
        MediaDriver {
            ip,
            rtp_timeout,
            relays: HashMap::new(),
            events,
            prompts: super::tones::builtin(),
            recorder: None,
        }
    }

    /// Where recordings go (without one, record commands are ignored).
    pub fn set_recorder(&mut self, recorder: Recorder) {
        self.recorder = Some(recorder);
    }

    pub fn recorder(&self) -> Option<&Recorder> {
        self.recorder.as_ref()
    }

    /// The configured prompts (at start and on reload), beside the built-in tones.
    pub fn set_prompts(&mut self, prompts: &HashMap<String, Prompt>) {
        self.prompts = super::tones::builtin();
        self.prompts
            .extend(prompts.iter().map(|(k, v)| (k.clone(), v.clone())));
    }

    /// The call's live media figures (None: no relay for it).
    pub fn quality(&self, call: CallRef) -> Option<relay::MediaSummary> {
        let h = self.relays.get(&call)?;
        // A panic while holding it left a plain value: still usable.
        let s = h.live.lock().unwrap_or_else(|p| p.into_inner()).clone();
        Some(s)
    }

    pub fn active(&self) -> usize {
        self.relays.len()
    }

    pub fn command(&mut self, cmd: MediaCommand) {
        match cmd {
            MediaCommand::Open {
                call,
                a_port,
                b_port,
            } => {
                match relay::open(
                    call,
                    self.ip,
                    a_port,
                    b_port,
                    self.rtp_timeout,
                    self.events.clone(),
                ) {
                    Ok(h) => {
                        self.relays.insert(call, h);
                    }
                    Err(e) => {
                        let _ = self.events.send((
                            call,
                            MediaEvent::Failed(format!(
                                "cannot bind RTP ports {a_port}/{b_port}: {e}"
                            )),
                        ));
                    }
                }
            }
            MediaCommand::Remote {
                call,
                side,
                rtp,
                rtcp,
                signal_ip,
                telephone_event,
                active,
            } => {
                if let Some(h) = self.relays.get(&call) {
                    let _ = h.cmd.send(RelayCmd::Remote {
                        side,
                        rtp,
                        rtcp,
                        signal_ip,
                        telephone_event,
                        active,
                    });
                }
            }
            MediaCommand::Close { call } => {
                self.relays.remove(&call);
            }
            MediaCommand::Play {
                call,
                side,
                prompts,
                law,
                looping,
                id,
            } => {
                let found: Vec<Prompt> = prompts
                    .iter()
                    .filter_map(|name| {
                        let p = self.prompts.get(name).cloned();
                        if p.is_none() {
                            tracing::warn!(call, prompt = %name, "unknown prompt skipped");
                        }
                        p
                    })
                    .collect();
                self.send(
                    call,
                    RelayCmd::Play {
                        side,
                        prompts: found,
                        law,
                        looping,
                        id,
                    },
                );
            }
            MediaCommand::StopPlay { call, side } => self.send(call, RelayCmd::StopPlay { side }),
            MediaCommand::Bridge { call, on } => self.send(call, RelayCmd::Bridge(on)),
            MediaCommand::HandOver {
                from,
                side,
                to,
                to_side,
            } => {
                let (Some(t), true) = (self.relays.get(&to), self.relays.contains_key(&from))
                else {
                    return;
                };
                // Ordered before anything else sent to `to`, unlike the state itself.
                let _ = t.cmd.send(RelayCmd::ExpectStream { side: to_side });
                let to = t.cmd.clone();
                self.send(from, RelayCmd::HandOver { side, to, to_side });
            }
            MediaCommand::Monitor {
                target,
                supervisor,
                mode,
                law,
                supervisor_law,
            } => {
                use super::monitor::{Feed, Tap as MixTap, CHANNEL};
                let (to_sup, from_tap) = mpsc::channel(CHANNEL);
                let (to_tap, from_sup) = mpsc::channel(CHANNEL);
                self.send(
                    target,
                    RelayCmd::MonitorTap {
                        tap: Box::new(MixTap::new(mode, law, to_sup)),
                        from_supervisor: from_sup,
                    },
                );
                self.send(
                    supervisor,
                    RelayCmd::Feed {
                        feed: Feed::new(supervisor_law, law, to_tap),
                        from_tap,
                    },
                );
            }
            MediaCommand::MonitorMode { target, mode } => {
                self.send(target, RelayCmd::MonitorMode(mode))
            }
            MediaCommand::MonitorStop { target } => self.send(target, RelayCmd::MonitorStop),
            MediaCommand::Record { call, op } => {
                let cmd = match op {
                    RecordOp::Start { at, fields } => {
                        let Some(rec) = self.recorder.as_ref() else {
                            tracing::warn!(call, "recording asked for but no recorder runs");
                            return;
                        };
                        if !self.relays.contains_key(&call) {
                            return;
                        }
                        match rec.begin(call, at, &fields) {
                            Ok((tap, end)) => RecordCmd::Start(Box::new(tap), end),
                            Err(outcome) => RecordCmd::NotStarted(outcome),
                        }
                    }
                    RecordOp::Pause { at } => RecordCmd::Pause(at),
                    RecordOp::Resume { at } => RecordCmd::Resume(at),
                    RecordOp::Stop { at } => RecordCmd::Stop(at),
                };
                self.send(call, RelayCmd::Record(cmd));
            }
            MediaCommand::Analyze { call, amd, sit } => {
                self.send(call, RelayCmd::Analyze { amd, sit })
            }
            MediaCommand::AwaitBeep { call, amd } => self.send(call, RelayCmd::AwaitBeep { amd }),
        }
    }

    fn send(&self, call: CallRef, cmd: RelayCmd) {
        if let Some(h) = self.relays.get(&call) {
            let _ = h.cmd.send(cmd);
        }
    }

    /// Stop a call's relay and get its figures (None if it had none).
    pub fn finish(&mut self, call: CallRef) -> Option<oneshot::Receiver<relay::Finished>> {
        let h = self.relays.remove(&call)?;
        let (tx, rx) = oneshot::channel();
        h.cmd.send(RelayCmd::Finish(tx)).ok()?;
        Some(rx)
    }
}
