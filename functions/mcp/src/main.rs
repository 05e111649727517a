//! The `mcp` function: `/mcp`, the MCP server for AI assistants. A function of its own so that
//! `api` does not carry rmcp and the tools' schemas (a megabyte of its bootstrap).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), switchboard_lambda::Error> {
    let state = switchboard_lambda::boot::start().await?;
    switchboard_lambda::http::serve_mcp(state).await
}
