//! The whole token lifecycle in one axum app: log in → an access + refresh pair →
//! `Authorization: Bearer` → `JwtAuthLayer` → handlers read the verified claims; scoped
//! routes; `/refresh` rotates the pair; `/logout` ends the session.
//!
//! DPoP (RFC 9449) too: a login or refresh that carries a `DPoP` proof gets tokens bound to
//! the proof's key (`token_type: DPoP`), which then work only as `Authorization: DPoP` with
//! a fresh proof of that key; `cargo run --example dpop-client` runs that flow against it.
//!
//! ```text
//! cargo run --example axum
//! cargo run --example axum --features metrics   # and GET /metrics (Prometheus)
//! ```
//!
//! Users: `demo`/`demo` may read notes (scope `notes:read`), `editor`/`editor` may also
//! write them (`notes:write`). `JWT_SECRET` sets the HMAC secret (at least 32 bytes; a
//! built-in demo secret otherwise), `ADDR` the address (default `127.0.0.1:3000`),
//! `EXTERNAL_URL` the URL clients reach the server at, which DPoP proofs must name
//! (default `http://` and the address it listens on; behind a proxy, the proxy's URL).

mod common;

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header::HeaderName};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_jwt_auth::authorize::Require;
use tower_jwt_auth::axum::Permission;
use tower_jwt_auth::claims::Grants;
use tower_jwt_auth::dpop::DpopOptions;
use tower_jwt_auth::issue::{RefreshError, TokenIssuer, TokenPair};
use tower_jwt_auth::{Algorithm, AuthError, Authorized, Claims, JwtAuthLayer, RegisteredClaims};

/// What the tokens say. Anyone can read a JWT's claims: never put a secret here.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct UserClaims {
    #[serde(flatten)]
    registered: RegisteredClaims,
    name: String,
    /// Space-delimited scopes (RFC 8693); the layer reads them into `Grants`.
    scope: String,
}

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

#[derive(Deserialize)]
struct Refresh {
    refresh_token: String,
}

/// What the token endpoints need: the issuer, and the layer's DPoP checks for the proofs
/// that come with a login or a refresh.
struct Server {
    issuer: TokenIssuer,
    auth: JwtAuthLayer<UserClaims>,
}

impl Server {
    /// The thumbprint of the key that signed the request's DPoP proof, if it has one (the
    /// tokens are then bound to it), or why the proof is refused.
    async fn dpop_key(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<Option<String>, Response> {
        if !headers.contains_key("dpop") {
            return Ok(None);
        }
        let key = self.auth.dpop_key(method, uri, headers).await;
        // RFC 9449 §5: a bad proof at the token endpoint is `invalid_dpop_proof`; with
        // `require_nonce`, a proof without a current nonce is `use_dpop_nonce` with the
        // nonce to use (§8).
        key.map(Some).map_err(|err| {
            let error = match err {
                AuthError::DpopNonceRequired => "use_dpop_nonce",
                _ => "invalid_dpop_proof",
            };
            let body = json!({ "error": error, "error_description": err.description() });
            let mut response = (StatusCode::BAD_REQUEST, Json(body)).into_response();
            if let Some(nonce) = self.auth.dpop_nonce() {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static("dpop-nonce"), nonce);
            }
            response
        })
    }
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_jwt_auth=debug".into()),
        )
        .init();

    let secret = common::secret();
    let addr = common::addr("127.0.0.1:3000");
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .unwrap_or_else(|e| panic!("cannot listen on {addr}: {e}"));
    let addr = listener.local_addr().expect("bound address");
    // What DPoP proofs must name: this server's own URL, never the request's `Host`.
    let external_url = std::env::var("EXTERNAL_URL").unwrap_or_else(|_| format!("http://{addr}"));

    // The issuer mints 15-minute access tokens and 14-day refresh tokens, and keeps
    // revocations (here in memory; `RedisStore` shares them between replicas). The layer it
    // builds accepts exactly its access tokens, and refuses revoked ones.
    let issuer = TokenIssuer::hmac(&secret, Algorithm::HS256)
        .issuer("tower-jwt-auth-demo")
        .build()
        .unwrap_or_else(|e| panic!("cannot build the token issuer: {e}"));
    // Bearer tokens, and DPoP-bound ones with their proofs.
    let auth = issuer
        .layer_builder::<UserClaims>()
        .dpop(
            DpopOptions::default()
                .external_url(Some(external_url))
                .allow_bearer(true),
        )
        .build()
        .unwrap_or_else(|e| panic!("cannot build the JWT layer: {e}"));
    let scope = |scope: &str| {
        Require::<UserClaims>::scope(scope)
            .build()
            .unwrap_or_else(|e| panic!("cannot build the scope check: {e}"))
    };

    let app = Router::new()
        // Each method of /notes needs its own scope: 403 `insufficient_scope` otherwise.
        .route(
            "/notes",
            get(list_notes)
                .route_layer(scope("notes:read"))
                // `POST` checks its scope in the handler's signature instead: `Authorized`.
                .merge(post(create_note)),
        )
        .route("/me", get(me))
        // `route_layer` guards the routes above; an unknown path still answers 404.
        .route_layer(auth.clone())
        .route("/login", post(login))
        .route("/refresh", post(refresh))
        .route("/logout", post(logout))
        .route("/health", get(|| async { "ok" }))
        // With `--features metrics`: the layer's counters for Prometheus.
        .merge(common::metrics())
        .with_state(Arc::new(Server { issuer, auth }));

    print_session(&addr.to_string());
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .expect("server error");
}

fn print_session(addr: &str) {
    let field = |name: &str| format!("sed 's/.*\"{name}\":\"\\([^\"]*\\)\".*/\\1/'");
    let split = format!(
        "TOKEN=$(echo \"$PAIR\" | {}); REFRESH=$(echo \"$PAIR\" | {})",
        field("access_token"),
        field("refresh_token")
    );
    let refresh_body =
        "-H 'content-type: application/json' -d \"{\\\"refresh_token\\\":\\\"$REFRESH\\\"}\"";
    println!("listening on http://{addr}\n");
    println!("log in (demo/demo may read notes, editor/editor may also write them):");
    println!(
        "  PAIR=$(curl -s -X POST http://{addr}/login -H 'content-type: application/json' \
         -d '{{\"username\":\"demo\",\"password\":\"demo\"}}')"
    );
    println!("  {split}");
    println!("call protected routes:");
    println!("  curl -i http://{addr}/me -H \"Authorization: Bearer $TOKEN\"");
    println!("  curl -i http://{addr}/notes -H \"Authorization: Bearer $TOKEN\"");
    println!("without the scope (403, insufficient_scope):");
    println!("  curl -i -X POST http://{addr}/notes -H \"Authorization: Bearer $TOKEN\"");
    println!(
        "refresh: a new pair; the old refresh token is spent (sent again, it ends the session):"
    );
    println!("  PAIR=$(curl -s -X POST http://{addr}/refresh {refresh_body}); {split}");
    println!("log out: every token of the session is revoked at once:");
    println!("  curl -i -X POST http://{addr}/logout {refresh_body}");
    println!("  curl -i http://{addr}/me -H \"Authorization: Bearer $TOKEN\"");
    println!("without a token (401 and a WWW-Authenticate challenge):");
    println!("  curl -i http://{addr}/me");
}

/// Checks the credentials and starts a session: an access token and a refresh token,
/// bound to the key of the request's DPoP proof if it has one.
async fn login(
    State(server): State<Arc<Server>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Json(login): Json<Login>,
) -> Result<Json<TokenPair>, Response> {
    // A real service checks a password hash in its user store.
    let scope = match (login.username.as_str(), login.password.as_str()) {
        ("demo", "demo") => "notes:read",
        ("editor", "editor") => "notes:read notes:write",
        _ => return Err(StatusCode::UNAUTHORIZED.into_response()),
    };
    let claims = UserClaims {
        registered: RegisteredClaims {
            sub: Some(login.username.clone()),
            ..RegisteredClaims::default()
        },
        name: format!("{} user", login.username),
        scope: scope.to_owned(),
    };
    // The issuer adds iat, nbf, exp, jti, sid and iss (and `cnf` for a DPoP login).
    let pair = match server.dpop_key(&method, &uri, &headers).await? {
        Some(jkt) => server.issuer.issue_pair_bound(&claims, &jkt),
        None => server.issuer.issue_pair(&claims),
    };
    pair.map(Json)
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Exchanges a refresh token for a new pair. A refresh token works once: a replay ends
/// the whole session.
async fn refresh(
    State(server): State<Arc<Server>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Refresh>,
) -> Result<Json<TokenPair>, Response> {
    let pair = match server.dpop_key(&method, &uri, &headers).await? {
        // A bound refresh token needs a proof of its own key.
        Some(jkt) => server.issuer.refresh_bound(&body.refresh_token, &jkt).await,
        None => server.issuer.refresh(&body.refresh_token).await,
    };
    pair.map(Json).map_err(grant_error)
}

/// Ends the session of a refresh token: its access tokens stop working at once.
async fn logout(
    State(server): State<Arc<Server>>,
    Json(body): Json<Refresh>,
) -> Result<StatusCode, Response> {
    server
        .issuer
        .logout(&body.refresh_token)
        .await
        .map(|()| StatusCode::NO_CONTENT)
        .map_err(grant_error)
}

/// The OAuth 2.0 answer to a bad refresh token (RFC 6749 §5.2).
fn grant_error(err: RefreshError) -> Response {
    match err {
        RefreshError::Store(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        RefreshError::Issue(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        err => {
            let body = json!({ "error": "invalid_grant", "error_description": err.to_string() });
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        }
    }
}

/// Protected: only reached with a valid token. `Claims` takes the claims the layer put in
/// the request's extensions (and answers as the layer would if they are missing).
async fn me(Claims(claims): Claims<UserClaims>) -> Json<UserClaims> {
    Json(claims)
}

/// Needs `notes:read` (checked by the `Require` layer on the route).
async fn list_notes(Extension(grants): Extension<Grants>) -> Json<serde_json::Value> {
    let scopes: Vec<&str> = grants.scopes().collect();
    Json(json!({ "notes": ["buy milk"], "your_scopes": scopes }))
}

/// What writing a note takes: the `notes:write` scope (and any check of the claims,
/// `allows`, could be added).
struct WriteNotes;

impl Permission<UserClaims> for WriteNotes {
    const SCOPES: &'static [&'static str] = &["notes:write"];
}

/// Needs `notes:write`: `Authorized` answers `403 insufficient_scope` (with the scope in
/// the challenge) before the handler runs, exactly as a `Require` layer would.
async fn create_note(Authorized(user, ..): Authorized<UserClaims, WriteNotes>) -> StatusCode {
    tracing::info!(by = ?user.registered.sub, "note created");
    StatusCode::CREATED
}
