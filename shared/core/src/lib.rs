//! Switchboard's application core: the domain, the ports its adapters implement, the use-cases
//! that every deployment (Lambda or the local process) runs, and the HTTP routers.
//!
//! Nothing here knows about AWS, SQLite, Lambda or how the HTTP server is hosted.

pub mod auth;
pub mod domain;
pub mod error;
pub mod http;
pub mod jobs;
pub mod net;
pub mod ports;
pub mod resolve;
pub mod rules;
pub mod sandbox;
pub mod services;
pub mod settings;
pub mod usecases;

pub use error::AppError;
pub use services::Services;
