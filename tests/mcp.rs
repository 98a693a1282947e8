//! The MCP example driven by the official SDK's client over a real socket, as the MCP
//! authorization spec lays out the flow: the first call gets `401` naming the protected
//! resource metadata (RFC 9728 §5.1); the client reads it (§3), finds the authorization
//! server's metadata (RFC 8414 §3), gets a token for this resource (client credentials with
//! the RFC 8707 `resource`), and retries: it lists and calls the tool. A token for another
//! audience, or without the scope, is refused.

#[path = "../examples/mcp/app.rs"]
mod app;
mod common;

use std::net::SocketAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use common::{Answer, fetch, send};
use http_body_util::Full;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use tower_jwt_auth::Algorithm;
use tower_jwt_auth::issue::TokenIssuer;

async fn start() -> (SocketAddr, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let router = app::app(&base).unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (addr, base)
}

async fn connect(
    uri: &str,
    token: Option<&str>,
) -> Result<RunningService<RoleClient, ClientConfig>, rmcp::service::ClientInitializeError> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(uri);
    if let Some(token) = token {
        config = config.auth_header(token);
    }
    ClientConfig::default()
        .serve(StreamableHttpClientTransport::from_config(config))
        .await
}

/// The value of `param="…"` in a challenge.
fn param<'a>(challenge: &'a str, name: &str) -> Option<&'a str> {
    let start = challenge.find(&format!("{name}=\""))? + name.len() + 2;
    let len = challenge[start..].find('"')?;
    Some(&challenge[start..start + len])
}

fn path_of(url: &str) -> &str {
    let after_scheme = &url[url.find("://").unwrap() + 3..];
    &after_scheme[after_scheme.find('/').unwrap()..]
}

/// Client credentials at the token endpoint, HTTP Basic as RFC 6749 §2.3.1 says.
async fn token_from(addr: SocketAddr, endpoint: &str, form: &str) -> Answer {
    let basic = STANDARD.encode(format!("{}:{}", app::CLIENT_ID, app::CLIENT_SECRET));
    let request = http::Request::post(format!("http://{addr}{}", path_of(endpoint)))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(form.to_owned())))
        .unwrap();
    send(request).await
}

#[tokio::test]
async fn an_mcp_client_discovers_the_authorization_server_gets_a_token_and_calls_the_tool() {
    let (addr, base) = start().await;
    let mcp = format!("{base}/mcp");

    // 1. No token: 401, and the challenge names the metadata (RFC 9728 §5.1).
    let refused = connect(&mcp, None).await.expect_err("no token, no session");
    let challenge = refused
        .auth_challenge()
        .expect("a 401 challenge")
        .to_owned();
    let metadata_url = param(&challenge, "resource_metadata").expect("resource_metadata");
    assert_eq!(
        metadata_url,
        format!("{base}/.well-known/oauth-protected-resource/mcp")
    );

    // 2. The metadata (RFC 9728 §3): its `resource` must be the URL the client called (§3.3).
    let metadata = fetch(addr, path_of(metadata_url), &[]).await;
    assert_eq!(metadata.status, 200);
    let metadata: Value = serde_json::from_str(&metadata.body).unwrap();
    assert_eq!(metadata["resource"], mcp.as_str());
    assert_eq!(metadata["scopes_supported"], json!([app::SCOPE]));
    let issuer = metadata["authorization_servers"][0].as_str().unwrap();

    // 3. The authorization server's metadata at its RFC 8414 §3 well-known URL.
    let issuer_path = path_of(issuer);
    let discovery = fetch(
        addr,
        &format!("/.well-known/oauth-authorization-server{issuer_path}"),
        &[],
    )
    .await;
    let discovery: Value = serde_json::from_str(&discovery.body).unwrap();
    assert_eq!(discovery["issuer"], issuer);
    let endpoint = discovery["token_endpoint"].as_str().unwrap().to_owned();

    // 4. A token for this resource, with the scope the metadata lists.
    let form = format!(
        "grant_type=client_credentials&scope={}&resource={}",
        app::SCOPE,
        mcp.replace(':', "%3A").replace('/', "%2F")
    );
    let answer = token_from(addr, &endpoint, &form).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let token: Value = serde_json::from_str(&answer.body).unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();

    // 5. Retry with it: list, then call the tool, which sees the verified caller.
    let client = connect(&mcp, Some(&token)).await.expect("a session");
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<_> = tools.iter().map(|tool| tool.name.as_ref()).collect();
    assert_eq!(names, ["whoami"]);
    let result = client
        .call_tool(CallToolRequestParams::new("whoami"))
        .await
        .unwrap();
    let text = serde_json::to_value(&result.content).unwrap();
    assert_eq!(text[0]["text"], format!("you are {}", app::CLIENT_ID));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_token_for_another_audience_or_without_the_scope_is_refused() {
    let (addr, base) = start().await;
    let mcp = format!("{base}/mcp");
    let document = format!("{base}/.well-known/oauth-protected-resource/mcp");
    let minted = |audience: &str, scope: &str| {
        TokenIssuer::private_key_pem(app::DEMO_KEY, Algorithm::ES256)
            .kid("demo-1")
            .issuer(format!("{base}/demo-auth"))
            .audience(audience)
            .build()
            .unwrap()
            .issue(&json!({ "sub": "mallory", "scope": scope }))
            .unwrap()
    };

    // Same issuer, same key, but minted for another MCP server: 401 invalid_token
    // (RFC 8707; the MCP spec's "MUST validate ... intended audience").
    let elsewhere = minted("https://other.example.com/mcp", app::SCOPE);
    let refused = connect(&mcp, Some(&elsewhere)).await.expect_err("refused");
    let challenge = refused.auth_challenge().expect("a 401 challenge");
    assert_eq!(param(challenge, "error"), Some("invalid_token"));
    assert_eq!(
        param(challenge, "resource_metadata"),
        Some(document.as_str())
    );

    // For this server, without the scope: 403 insufficient_scope, naming the scope and the
    // metadata (RFC 6750 §3.1, RFC 9728 §5.1).
    let reader = minted(&mcp, "tools:read");
    let refused = connect(&mcp, Some(&reader)).await.expect_err("refused");
    let challenge = refused.auth_challenge().expect("a 403 challenge");
    assert_eq!(param(challenge, "error"), Some("insufficient_scope"));
    assert_eq!(param(challenge, "scope"), Some(app::SCOPE));
    assert_eq!(
        param(challenge, "resource_metadata"),
        Some(document.as_str())
    );

    // The demo authorization server itself refuses a token for another resource (RFC 8707 §2).
    let form = "grant_type=client_credentials&resource=https%3A%2F%2Fother.example.com%2Fmcp";
    let answer = token_from(addr, &format!("{base}/demo-auth/token"), form).await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&answer.body).unwrap()["error"],
        "invalid_target"
    );
}
