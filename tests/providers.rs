//! Tokens shaped as identity providers document them, their scopes and roles read through
//! claim mappings (`scopes_from`, `roles_from`) and enforced by `Require`. Each fixture's
//! comment names the document its shape comes from; the values are made up.

mod common;

use axum::Router;
use axum::routing::get;
use common::*;
use serde_json::{Value, json};
use tower_jwt_auth::authorize::Require;
use tower_jwt_auth::{Algorithm, AuthError, ConfigError, JwtAuthBuilder, JwtAuthLayer};

fn hs() -> JwtAuthBuilder<Value> {
    JwtAuthLayer::<Value>::builder().hmac_secret(SECRET, Algorithm::HS256)
}

/// `GET /` behind `layer`, guarded by `require`.
fn guarded(layer: JwtAuthLayer<Value>, require: Require<Value>) -> Router {
    Router::new()
        .route("/", get(|| async { "ok" }))
        .route_layer(require.build().unwrap())
        .layer(layer)
}

async fn status(app: &Router, claims: &Value) -> u16 {
    status_of(app, &mint(claims)).await
}

/// Keycloak access token: realm roles in `realm_access.roles`, client roles in
/// `resource_access.<client>.roles` (Keycloak Server Administration Guide, "Role scope
/// mappings"; the token of a `confidential` client as the admin console's "Evaluate" tab
/// shows it).
fn keycloak() -> Value {
    json!({
        "exp": now() + 300, "iat": now(), "auth_time": now(),
        "jti": "onrtac:4f1f2a6e-8c9b-4d8a-9d2a-0f3c7a1e2b3c",
        "iss": "https://sso.example.com/realms/acme",
        "aud": "account",
        "sub": "3f1b2c4d-5e6f-4a1b-8c9d-0e1f2a3b4c5d",
        "typ": "Bearer", "azp": "notes-api",
        "sid": "9a8b7c6d-1e2f-4a3b-8c7d-6e5f4a3b2c1d",
        "acr": "1",
        "allowed-origins": ["https://notes.example.com"],
        "realm_access": { "roles": ["default-roles-acme", "offline_access", "uma_authorization"] },
        "resource_access": {
            "notes-api": { "roles": ["notes-writer"] },
            "account": { "roles": ["manage-account", "view-profile"] }
        },
        "scope": "openid email profile",
        "email_verified": true,
        "preferred_username": "alice"
    })
}

#[tokio::test]
async fn keycloak_realm_and_client_roles() {
    let layer = || {
        hs().audience("account")
            .roles_from(["/realm_access/roles", "/resource_access/{client_id}/roles"])
            .client_id("notes-api")
            .build()
            .unwrap()
    };
    let app = |role: &str| guarded(layer(), Require::role(role));
    assert_eq!(status(&app("notes-writer"), &keycloak()).await, 200);
    assert_eq!(status(&app("offline_access"), &keycloak()).await, 200);
    // Another client's role is not this client's.
    assert_eq!(status(&app("manage-account"), &keycloak()).await, 403);
    // Scopes still come from `scope`.
    let scoped = guarded(layer(), Require::scope("email"));
    assert_eq!(status(&scoped, &keycloak()).await, 200);
    // The claims type still sees the whole token.
    let claims: Value = layer().verify(&mint(&keycloak())).unwrap();
    assert_eq!(
        claims["resource_access"]["notes-api"]["roles"][0],
        "notes-writer"
    );
}

/// Auth0 access token with RBAC and "Add Permissions in the Access Token": the API's
/// permissions in `permissions`, `aud` an array with the userinfo endpoint (Auth0 docs,
/// "Access Token Structure" and "Enable Role-Based Access Control for APIs").
fn auth0() -> Value {
    json!({
        "iss": "https://acme.us.auth0.com/",
        "sub": "auth0|64f0c2a1b2c3d4e5f6a7b8c9",
        "aud": ["https://notes.example.com", "https://acme.us.auth0.com/userinfo"],
        "iat": now(), "exp": now() + 86400,
        "azp": "Xq2bRk8pLmN3vT7wYz1aB4cD5eF6gH7i",
        "scope": "openid profile email",
        "permissions": ["read:notes", "write:notes"]
    })
}

#[tokio::test]
async fn auth0_permissions() {
    let layer = || {
        hs().issuer("https://acme.us.auth0.com/")
            .audience("https://notes.example.com")
            .scopes_from(["/scope", "/permissions"])
            .build()
            .unwrap()
    };
    for scope in ["write:notes", "read:notes", "profile"] {
        assert_eq!(
            status(&guarded(layer(), Require::scope(scope)), &auth0()).await,
            200
        );
    }
    let none = json!({ "permissions": [] });
    let mut without = auth0();
    without["permissions"] = none["permissions"].clone();
    assert_eq!(
        status(&guarded(layer(), Require::scope("write:notes")), &without).await,
        403
    );
}

/// Cognito access token: groups in `cognito:groups`, the app client in `client_id`, no
/// `aud` (Amazon Cognito Developer Guide, "Understanding the access token").
fn cognito() -> Value {
    json!({
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "cognito:groups": ["admins", "editors"],
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example",
        "version": 2,
        "client_id": "1example23456789",
        "origin_jti": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "event_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin notes/read",
        "auth_time": now(), "exp": now() + 3600, "iat": now(),
        "jti": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "username": "alice"
    })
}

#[tokio::test]
async fn cognito_groups() {
    let layer = || hs().roles_from(["/cognito:groups"]).build().unwrap();
    assert_eq!(
        status(&guarded(layer(), Require::role("editors")), &cognito()).await,
        200
    );
    assert_eq!(
        status(&guarded(layer(), Require::role("owners")), &cognito()).await,
        403
    );
    assert_eq!(
        status(&guarded(layer(), Require::scope("notes/read")), &cognito()).await,
        200
    );
}

/// Okta custom authorization server: `scp` an array, groups in `groups` when a groups claim
/// is configured (Okta Developer docs, "Access token" and "Customize tokens with a groups
/// claim").
fn okta() -> Value {
    json!({
        "ver": 1,
        "jti": "AT.2x8n4yQk1v0bZr7c6d5e4f3g2h1i0j",
        "iss": "https://acme.okta.com/oauth2/default",
        "aud": "api://default",
        "iat": now(), "exp": now() + 3600,
        "cid": "0oa1b2c3d4e5f6g7h8i9",
        "uid": "00u1b2c3d4e5f6g7h8i9",
        "scp": ["openid", "notes.read"],
        "auth_time": now(),
        "sub": "alice@example.com",
        "groups": ["Everyone", "Notes Admins"]
    })
}

#[tokio::test]
async fn okta_groups_and_scp_array() {
    let layer = || {
        hs().audience("api://default")
            .roles_from(["/groups"])
            .build()
            .unwrap()
    };
    assert_eq!(
        status(&guarded(layer(), Require::role("Notes Admins")), &okta()).await,
        200
    );
    assert_eq!(
        status(&guarded(layer(), Require::scope("notes.read")), &okta()).await,
        200
    );
}

/// Microsoft Entra ID v2.0 access token: delegated scopes in `scp` (space-separated), app
/// roles in `roles` (Microsoft identity platform docs, "Access token claims reference"):
/// the standard sources read it without a mapping.
#[tokio::test]
async fn entra_id_scp_string_and_roles_need_no_mapping() {
    let tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    let token = json!({
        "aud": "api://notes", "iss": format!("https://login.microsoftonline.com/{tid}/v2.0"),
        "iat": now(), "nbf": now(), "exp": now() + 3600,
        "azp": "6e74172b-be56-4843-9ff4-e66a39bb12e3", "azpacr": "0",
        "name": "Alice", "oid": "690222be-ff1a-4d56-abd1-7e4f7d38e474",
        "preferred_username": "alice@contoso.com",
        "rh": "I", "roles": ["Notes.Admin"], "scp": "Notes.Read Notes.Write",
        "sub": "HKZpfaHyWadeOouYlitjrI-KffTm222X5rrV3xDqfKQ", "tid": tid,
        "uti": "fqiBqXLPj0eQa82S-IYFAA", "ver": "2.0"
    });
    let layer = || hs().audience("api://notes").build().unwrap();
    assert_eq!(
        status(&guarded(layer(), Require::scope("Notes.Write")), &token).await,
        200
    );
    assert_eq!(
        status(&guarded(layer(), Require::role("Notes.Admin")), &token).await,
        200
    );
}

#[tokio::test]
async fn a_mapped_claim_twice_is_refused_and_one_of_another_shape_grants_nothing() {
    let layer = || hs().roles_from(["/groups"]).build().unwrap();
    let twice = sign_raw(
        r#"{"alg":"HS256"}"#,
        &format!(
            r#"{{"exp":{},"groups":["admin"],"groups":["user"]}}"#,
            now() + 60
        ),
    );
    assert_eq!(layer().verify(&twice).err(), Some(AuthError::InvalidClaims));
    let app = guarded(layer(), Require::role("admin"));
    for groups in [json!({ "admin": true }), json!(7), json!([["admin"]])] {
        let claims = json!({ "exp": now() + 60, "groups": groups });
        assert_eq!(status(&app, &claims).await, 403, "{groups}");
    }
    // A string is one role.
    assert_eq!(
        status(&app, &json!({ "exp": now() + 60, "groups": "admin" })).await,
        200
    );
}

#[test]
fn claim_paths_are_checked_at_build() {
    for (path, fix) in [
        ("roles", "starts with `/`"),
        ("/resource_access/{client_id}/roles", "client_id"),
        ("/a~2", "`~0` or `~1`"),
    ] {
        let err = hs().roles_from([path]).build().unwrap_err();
        assert!(
            matches!(err, ConfigError::InvalidClaimPath { .. }),
            "{path}"
        );
        assert!(err.to_string().contains(fix), "{path}: {err}");
    }
}
