//! The daemon's side of media: carries out `MediaCommand`s by starting, steering and
//! stopping relay tasks.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::relay::{self, MediaSummary, RelayCmd, RelayHandle};
use crate::sip::endpoint::calls::{CallRef, MediaCommand, MediaEvent};

pub struct MediaDriver {
    ip: IpAddr,
    rtp_timeout: Option<Duration>,
    relays: HashMap<CallRef, RelayHandle>,
    events: mpsc::UnboundedSender<(CallRef, MediaEvent)>,
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
        }
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
        }
    }

    /// Stop a call's relay and get its figures (None if it had none).
    pub fn finish(&mut self, call: CallRef) -> Option<oneshot::Receiver<MediaSummary>> {
        let h = self.relays.remove(&call)?;
        let (tx, rx) = oneshot::channel();
        h.cmd.send(RelayCmd::Finish(tx)).ok()?;
        Some(rx)
    }
}
