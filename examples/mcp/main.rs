//! An MCP server (the official Rust SDK, `rmcp`, over streamable HTTP) behind `JwtAuthLayer`,
//! with the RFC 9728 metadata the MCP authorization spec asks for, and a demo authorization
//! server on the same port so that the whole flow runs without setup.
//!
//! ```text
//! cargo run --example mcp
//! ```
//!
//! `ADDR` sets the address (default `127.0.0.1:8000`). Then follow the printed steps.

mod app;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:8000".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let router = app::app(&base)?;
    eprintln!("warning: the demo authorization server's key and client secret are public");
    println!(
        r#"MCP server on {base}/mcp

1. Without a token, the endpoint answers 401 and names its metadata:
   curl -si -X POST {base}/mcp | grep -i www-authenticate
2. The metadata names the authorization server and the scope:
   curl -s {base}/.well-known/oauth-protected-resource/mcp
3. A token for this resource (client credentials, RFC 8707 resource):
   TOKEN=$(curl -s -u {id}:{secret} -d grant_type=client_credentials \
     -d scope={scope} -d resource={base}/mcp {base}/demo-auth/token | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
4. With it, MCP talks (initialize, then tools/list and tools/call "whoami"):
   curl -s -X POST {base}/mcp -H "Authorization: Bearer $TOKEN" \
     -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \
     -d '{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"curl","version":"1"}}}}}}'
   or point an MCP client (MCP Inspector, say) at {base}/mcp with that bearer token."#,
        id = app::CLIENT_ID,
        secret = app::CLIENT_SECRET,
        scope = app::SCOPE,
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
