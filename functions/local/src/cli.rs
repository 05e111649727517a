//! The command line of the `switchboard` binary.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Self-hosted WhatsApp and multi-channel messaging gateway with AI auto-reply",
    long_about = "Self-hosted WhatsApp and multi-channel messaging gateway with AI auto-reply.\n\n\
        Settings come from the environment (a .env file may supply them): SWITCHBOARD_ADDR, \
        SWITCHBOARD_DATA_DIR, ADMIN_JWT_SECRET, ADMIN_PASSWORD, ENCRYPTION_KEY, ENCRYPTION_KEYS_OLD, \
        ALLOW_PRIVATE_NETWORK_URLS, OPENAI_API_KEY, OPENAI_BASE_URL, AI_MODEL."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run every function in one process on the embedded store (the default command).
    Serve,
    /// Print a new admin JWT signed with ADMIN_JWT_SECRET (or the data dir's generated secret).
    AdminToken {
        /// Hours until the token expires.
        #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=8760))]
        ttl_hours: u64,
        /// The token's subject (who it is for).
        #[arg(long, default_value = "admin")]
        subject: String,
    },
    /// Put a queue's dead-lettered jobs back on it.
    Redrive {
        /// ai-reply, outbound or webhook.
        queue: String,
    },
}
