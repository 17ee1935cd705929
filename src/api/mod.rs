//! The gRPC API for CRMs and wallboards (proto/switchboard/v1): the event bus the daemon
//! writes every call and ACD event to, the `Events` and `Control` services, bearer-token
//! auth, and the server with health and reflection, behind its own accept loop (connection
//! caps, the HTTP/2 preface deadline, bans for invalid tokens).
//!
//! The endpoint stays single-owner: events flow out of the main loop into the bus (one
//! writer), commands flow in over a channel with a oneshot for each reply (`command`).

mod auth;
mod bus;
mod campaigns;
mod codec;
mod command;
mod conn;
mod conns;
mod control;
mod convert;
mod events;
mod filter;
mod guard;
mod incoming;
mod preview;
mod screen_pop;
mod server;
mod shield;
mod tls;
mod views;

/// The generated protobuf types, clients and servers.
pub mod pb {
    tonic::include_proto!("switchboard.v1");

    /// The encoded descriptors of proto/switchboard/v1 (served by reflection).
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("switchboard_descriptor");
}

pub use auth::Tokens;
pub use bus::{Bus, BusEvent, BusReader, HISTORY};
pub use campaigns::execute as execute_campaign;
pub use campaigns::{dialer_event, is_campaign_command};
pub use command::{execute, ApiReply, ApiRequest, Command};
pub use convert::Converter;
pub use preview::dial as execute_preview_dial;
pub use screen_pop::screen_pop;
pub use server::{bind, Ready, Server};
pub use tls::TlsSetupError;
pub use views::{add_quality, snapshot};
