//! The IVR front door: menus from config and one sans-IO session per caller (prompts out,
//! digits in, an exit to a queue, an extension or a hang-up).

mod menu;
mod session;

pub use menu::{Action, Collect, Menu, Menus};
pub use session::{Exit, IvrOutput, IvrSession};

#[cfg(test)]
mod tests;
