//! Switchboard in one process on the embedded adapters: the wiring behind `switchboard serve`,
//! shared by the binary and the system tests.

mod listen;
pub mod local_settings;
pub mod on_aws;
pub mod serve;
pub mod wiring;
