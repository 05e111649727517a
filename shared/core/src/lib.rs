//! Switchboard's application core: the domain, the ports its adapters implement, the use-cases
//! that every deployment (Lambda or the local process) runs, and the HTTP routers.
//!
//! Nothing here knows about AWS, SQLite, Lambda, how the HTTP server is hosted, or how to
//! reach another server: adapters implement the ports (`ports`) and deployments wire them.

pub mod auth;
pub mod dispatch;
pub mod domain;
pub mod error;
mod hs256;
pub mod http;
pub mod jobs;
pub mod ports;
pub mod reply_gate;
pub mod rules;
pub mod services;
pub mod settings;
pub mod usecases;

pub use error::AppError;
pub use services::Services;
