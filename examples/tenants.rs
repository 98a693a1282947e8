//! Two tenants, each with its own identity provider and its own policy, on one API.
//!
//! ```text
//! cargo run --example tenants
//! ```
//!
//! Tenant A runs a Keycloak-like provider (roles in `realm_access.roles`, audience
//! `notes-api-a`); tenant B an Auth0-like one (roles in the namespaced claim
//! `https://notes.example/roles`, audience `notes-api-b`). Each is an
//! [`IssuerPolicy`](tower_jwt_auth::tenant::IssuerPolicy): a token is checked only against
//! the policy of the issuer it names, so tenant A's administrator, who can mint anything with
//! A's key, reaches nothing that B's policy grants. The two providers are played by this
//! program with the RSA demo keys of `tests/data`.
//!
//! At start it mints a few tokens, sends each through the app in process and prints the
//! answer (`DEMO_ONLY=1` stops there), then serves on `ADDR` (default `127.0.0.1:3003`) and
//! prints curl commands. `GET /me` answers the caller and its tenant; `GET /admin` requires
//! the role `admin`, read where the caller's own tenant puts roles.

mod common;

use axum::Router;
use axum::body::Body;
use axum::extract::Extension;
use axum::routing::get;
use http::{Request, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use tower_jwt_auth::authorize::Require;
use tower_jwt_auth::jsonwebtoken::{self, Header};
use tower_jwt_auth::tenant::{IssuerPolicy, TrustedIssuer};
use tower_jwt_auth::{Algorithm, Claims, DecodingKey, EncodingKey, JwtAuthLayer};

const TENANT_A: &str = "https://login.tenant-a.example/realms/notes";
const TENANT_B: &str = "https://tenant-b.eu.auth0.example/";

#[derive(Clone, Debug, Deserialize)]
struct User {
    sub: String,
}

async fn me(Claims(user): Claims<User>, Extension(tenant): Extension<TrustedIssuer>) -> String {
    format!("{} of {tenant}\n", user.sub)
}

/// A demo key pair from `tests/data`.
fn keys(name: &str) -> (EncodingKey, DecodingKey) {
    let read = |file: String| {
        std::fs::read(format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    };
    (
        EncodingKey::from_rsa_pem(&read(format!("{name}_private.pem"))).unwrap(),
        DecodingKey::from_rsa_pem(&read(format!("{name}_public.pem"))).unwrap(),
    )
}

fn app(a: DecodingKey, b: DecodingKey) -> Result<Router, Box<dyn std::error::Error>> {
    let auth = JwtAuthLayer::<User>::builder()
        .issuer_policy(
            IssuerPolicy::with_keys(TENANT_A)
                .key(a, Algorithm::RS256)
                .audience("notes-api-a")
                .roles_from(["/realm_access/roles"]),
        )
        .issuer_policy(
            IssuerPolicy::with_keys(TENANT_B)
                .key(b, Algorithm::RS256)
                .audience("notes-api-b")
                // A JSON pointer: `~1` is a `/` inside the claim's name.
                .roles_from(["/https:~1~1notes.example~1roles"]),
        )
        .build()?;
    Ok(Router::new()
        .route("/admin", get(|| async { "the admin page\n" }))
        .route_layer(Require::<User>::role("admin").build()?)
        .route("/me", get(me))
        .layer(auth))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tower_jwt_auth::install_crypto_provider()?;
    let (a_signs, a_verifies) = keys("rsa");
    let (b_signs, b_verifies) = keys("rsa2");
    let app = app(a_verifies, b_verifies)?;

    let mint = |key: &EncodingKey, claims: Value| {
        let mut claims = claims;
        claims["exp"] = json!(common::now() + 15 * 60);
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, key).unwrap()
    };
    let alice = mint(
        &a_signs,
        json!({ "iss": TENANT_A, "aud": "notes-api-a", "sub": "alice",
                "realm_access": { "roles": ["admin"] } }),
    );
    let bob = mint(
        &b_signs,
        json!({ "iss": TENANT_B, "aud": "notes-api-b", "sub": "bob",
                "https://notes.example/roles": ["reader"] }),
    );
    // Tenant A's administrator mints with A's key what B's policy would grant.
    let forged_audience = mint(
        &a_signs,
        json!({ "iss": TENANT_A, "aud": "notes-api-b", "sub": "mallory" }),
    );
    let foreign_roles = mint(
        &a_signs,
        json!({ "iss": TENANT_A, "aud": "notes-api-a", "sub": "mallory",
                "https://notes.example/roles": ["admin"] }),
    );
    let posing_as_b = mint(
        &a_signs,
        json!({ "iss": TENANT_B, "aud": "notes-api-b", "sub": "mallory",
                "https://notes.example/roles": ["admin"] }),
    );

    println!("Each token through the app, in process:");
    for (what, path, token) in [
        ("alice (tenant A, role admin)", "/me", &alice),
        ("alice (tenant A, role admin)", "/admin", &alice),
        ("bob (tenant B, role reader)", "/me", &bob),
        ("bob (tenant B, role reader)", "/admin", &bob),
        ("A's key, B's audience", "/me", &forged_audience),
        ("A's key, roles where B puts them", "/admin", &foreign_roles),
        ("A's key, claiming to be B", "/me", &posing_as_b),
    ] {
        let request = Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())?;
        let response = app.clone().oneshot(request).await?;
        let status = response.status();
        let why = match response.headers().get(header::WWW_AUTHENTICATE) {
            Some(challenge) if status != StatusCode::OK => challenge.to_str()?.to_owned(),
            _ => String::new(),
        };
        println!("  {what:<34} GET {path:<7} → {} {why}", status.as_u16());
    }
    if std::env::var("DEMO_ONLY").is_ok() {
        return Ok(());
    }

    let addr = common::addr("127.0.0.1:3003");
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("\nlistening on http://{addr}");
    println!("  curl -H 'Authorization: Bearer {alice}' http://{addr}/admin");
    println!("  curl -H 'Authorization: Bearer {bob}' http://{addr}/admin");
    axum::serve(listener, app).await?;
    Ok(())
}
