//! The MCP example's application, shared by `main.rs` and the test that drives it with an MCP
//! client (`tests/mcp.rs`): an MCP server with one tool behind `JwtAuthLayer`, its RFC 9728
//! metadata, and a demo authorization server on the same port.

use std::error::Error;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Form, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::Extension;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, tool, tool_handler, tool_router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower::ServiceBuilder;
use tower_jwt_auth::authorize::Require;
use tower_jwt_auth::issue::TokenIssuer;
use tower_jwt_auth::metadata::{BearerMethod, ResourceMetadata};
use tower_jwt_auth::{Algorithm, JwtAuthLayer};

/// For the demo only: anyone who reads this file can mint tokens with it.
pub const DEMO_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgAsglpihtZTsVx1gI
C+/SFYiAk4MIej1pksdmvD+yMXehRANCAASZtGNbdUARcluGay89zWggHYpVuNcj
njfKCEEI8ElbKXg5aqoysJS0w9HuqBpQHamN69ge7Iowgnnl4R0vNsk3
-----END PRIVATE KEY-----";
/// The demo authorization server's one client.
pub const CLIENT_ID: &str = "demo-client";
/// For the demo only, like the key.
pub const CLIENT_SECRET: &str = "demo-secret";
/// What a token must grant to reach the MCP endpoint.
pub const SCOPE: &str = "tools:call";

/// The claims the tool needs.
#[derive(Clone, Debug, Deserialize)]
pub struct Caller {
    pub sub: String,
}

/// The MCP server: one tool that says who called it.
#[derive(Clone)]
pub struct Tools {
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Tools {
    #[tool(description = "Says which client called, as the access token names it")]
    fn whoami(&self, Extension(parts): Extension<http::request::Parts>) -> String {
        // The layer put the verified claims into the HTTP request; rmcp hands its parts on.
        match parts.extensions.get::<Caller>() {
            Some(caller) => format!("you are {}", caller.sub),
            None => "no verified caller".to_owned(),
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

/// The whole application for a server reachable at `base` (`http://127.0.0.1:8000`, say):
/// the MCP endpoint at `{base}/mcp`, its metadata, and the demo authorization server at
/// `{base}/demo-auth`.
pub fn app(base: &str) -> Result<Router, Box<dyn Error>> {
    let resource = format!("{base}/mcp");
    let issuer_url = format!("{base}/demo-auth");
    let issuer = TokenIssuer::private_key_pem(DEMO_KEY, Algorithm::ES256)
        .kid("demo-1")
        .issuer(&issuer_url)
        .audience(&resource)
        .build()?;
    let keys = issuer.jwks().ok_or("an ES256 issuer publishes its key")?;

    // RFC 9728: where tokens for this resource come from; every 401 points here.
    let metadata = ResourceMetadata::new(&resource)
        .authorization_server(&issuer_url)
        .scopes_supported([SCOPE])
        .bearer_methods_supported([BearerMethod::Header])
        .resource_name("tower-jwt-auth MCP example");
    // The audience defaults to the resource: a token minted for another server is refused.
    let auth = JwtAuthLayer::<Caller>::builder()
        .jwks(keys.clone())
        .issuer(&issuer_url)
        .resource_metadata(metadata.clone())
        .build()?;
    let require = Require::<Caller>::scope(SCOPE).build()?;
    let mcp = StreamableHttpService::new(
        || {
            Ok(Tools {
                tool_router: Tools::tool_router(),
            })
        },
        Arc::new(LocalSessionManager::default()),
        StreamableHttpServerConfig::default(),
    );

    let server = Arc::new(DemoServer {
        issuer,
        issuer_url: issuer_url.clone(),
        resource,
    });
    Ok(Router::new()
        .nest_service(
            "/mcp",
            ServiceBuilder::new()
                .layer(auth)
                .layer(require)
                .service(mcp),
        )
        .route_service(&metadata.well_known_path(), metadata.service()?)
        .route(
            "/.well-known/oauth-authorization-server/demo-auth",
            get(authorization_server_metadata),
        )
        .route(
            "/demo-auth/jwks.json",
            get(move || async move { Json(keys) }),
        )
        .route("/demo-auth/token", post(token))
        .with_state(server))
}

/// A demo authorization server: client credentials for one client, tokens for one resource.
struct DemoServer {
    issuer: TokenIssuer,
    issuer_url: String,
    resource: String,
}

/// RFC 8414 §2, the members a client needs here.
async fn authorization_server_metadata(State(server): State<Arc<DemoServer>>) -> Json<Value> {
    let issuer = &server.issuer_url;
    Json(json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks.json"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        "scopes_supported": [SCOPE],
    }))
}

#[derive(Deserialize)]
struct TokenRequest {
    grant_type: String,
    scope: Option<String>,
    resource: Option<String>,
}

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    scope: String,
}

/// RFC 6749 §4.4 with the RFC 8707 `resource` parameter; errors as RFC 6749 §5.2.
async fn token(
    State(server): State<Arc<DemoServer>>,
    headers: HeaderMap,
    Form(request): Form<TokenRequest>,
) -> Result<Json<TokenResponse>, (StatusCode, Json<Value>)> {
    let refuse = |status, error: &str| Err((status, Json(json!({ "error": error }))));
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(basic.as_str()) {
        return refuse(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if request.grant_type != "client_credentials" {
        return refuse(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    // RFC 8707 §2: a token for a resource this server does not serve is refused.
    if request
        .resource
        .as_deref()
        .is_some_and(|r| r != server.resource)
    {
        return refuse(StatusCode::BAD_REQUEST, "invalid_target");
    }
    let scope = request.scope.unwrap_or_else(|| SCOPE.to_owned());
    if scope.split(' ').any(|s| s != SCOPE) {
        return refuse(StatusCode::BAD_REQUEST, "invalid_scope");
    }
    let claims = json!({ "sub": CLIENT_ID, "client_id": CLIENT_ID, "scope": scope });
    let access_token = server.issuer.issue(&claims).map_err(|_| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": "server_error" })),
        )
    })?;
    Ok(Json(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: server.issuer.access_lifetime().as_secs(),
        scope,
    }))
}
