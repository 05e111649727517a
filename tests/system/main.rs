//! Black-box tests of the whole system: the app in-process on loopback, and the real binary.

mod accounts;
mod ai_reply;
mod ai_settings;
mod bad_input;
mod bridge_and_email;
mod cli;
mod client_api;
mod connections;
mod crash;
mod dashboard;
mod email;
mod lambda;
mod mcp;
mod media;
mod messages;
mod openapi;
mod opt_out;
mod queue;
mod readme;
mod relay;
mod restart;
mod store;
mod telegram;
mod templates;
mod webhooks;
mod whatsapp;
