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

/// The presets against each provider's own layout, served from loopback: a key client that
/// sends `https://{host}/{path}` to the loopback server as `/{host}/{path}`, so each preset
/// fetches exactly the URLs it would in production.
#[cfg(feature = "jwks")]
mod presets {
    use std::collections::HashMap;
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;
    use axum::response::IntoResponse;
    use bytes::Bytes;
    use tower_jwt_auth::EncodingKey;
    use tower_jwt_auth::jsonwebtoken::Header;
    use tower_jwt_auth::jsonwebtoken::jwk::Jwk;
    use tower_jwt_auth::jwks::{BoxError, DefaultJwksClient, JwksClient};

    type Documents = Arc<Mutex<HashMap<String, Value>>>;

    /// The loopback server: `GET /{host}/{path}` answers the document published there.
    async fn idp() -> (SocketAddr, Documents) {
        let documents: Documents = Arc::default();
        let served = Arc::clone(&documents);
        let app = Router::new().fallback(move |uri: http::Uri| {
            let doc = served.lock().unwrap().get(uri.path()).cloned();
            async move {
                match doc {
                    Some(doc) => axum::Json(doc).into_response(),
                    None => http::StatusCode::NOT_FOUND.into_response(),
                }
            }
        });
        (serve(app).await, documents)
    }

    #[derive(Clone)]
    struct Rewrite {
        to: SocketAddr,
        inner: DefaultJwksClient,
    }

    impl JwksClient for Rewrite {
        fn get<'a>(
            &'a self,
            url: &'a http::Uri,
            max_body: usize,
        ) -> std::pin::Pin<
            Box<dyn Future<Output = Result<http::Response<Bytes>, BoxError>> + Send + 'a>,
        > {
            Box::pin(async move {
                let host = url.host().unwrap_or_default();
                let local: http::Uri =
                    format!("http://{}/{host}{}", self.to, url.path()).parse()?;
                self.inner.get(&local, max_body).await
            })
        }
    }

    fn publish(docs: &Documents, url: &str, doc: Value) {
        let url: http::Uri = url.parse().unwrap();
        let path = format!("/{}{}", url.host().unwrap(), url.path());
        docs.lock().unwrap().insert(path, doc);
    }

    /// The test RSA key as a provider publishes it: with this `kid`, and `alg` if given.
    fn rsa_jwk(kid: &str, alg: Option<&str>) -> Value {
        // jsonwebtoken's JWK helpers need the process's provider, whichever test runs first.
        tower_jwt_auth::install_crypto_provider().unwrap();
        let key = EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap();
        let mut jwk =
            serde_json::to_value(Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap()).unwrap();
        let jwk = jwk.as_object_mut().unwrap();
        jwk.insert("kid".into(), kid.into());
        jwk.insert("use".into(), "sig".into());
        match alg {
            Some(alg) => jwk.insert("alg".into(), alg.into()),
            None => jwk.remove("alg"),
        };
        Value::Object(jwk.clone())
    }

    fn signed(alg: Algorithm, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = Some(kid.into());
        mint_with(
            &header,
            claims,
            &EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap(),
        )
    }

    /// Publishes an OpenID discovery document for `issuer` naming `jwks_uri`, and the JWKS.
    fn discovery(docs: &Documents, issuer: &str, jwks_uri: &str, keys: Vec<Value>) {
        let well_known = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        publish(
            docs,
            &well_known,
            json!({ "issuer": issuer, "jwks_uri": jwks_uri }),
        );
        publish(docs, jwks_uri, json!({ "keys": keys }));
    }

    async fn ready(builder: JwtAuthBuilder<Value>, to: SocketAddr) -> JwtAuthLayer<Value> {
        let client = Rewrite {
            to,
            inner: DefaultJwksClient::without_proxy(),
        };
        let layer = builder.jwks_client(client).build().unwrap();
        tokio::time::timeout(Duration::from_secs(5), layer.ready())
            .await
            .expect("the preset's keys were fetched");
        layer
    }

    /// Why `layer` refuses `claims` signed RS256 under `kid`, if it does.
    fn refusal(layer: &JwtAuthLayer<Value>, kid: &str, claims: &Value) -> Option<AuthError> {
        layer.verify(&signed(Algorithm::RS256, kid, claims)).err()
    }

    fn with(claims: &Value, changes: Value) -> Value {
        let mut claims = claims.clone();
        for (k, v) in changes.as_object().unwrap() {
            match v {
                Value::Null => claims.as_object_mut().unwrap().remove(k),
                v => claims.as_object_mut().unwrap().insert(k.clone(), v.clone()),
            };
        }
        claims
    }

    // Keycloak publishes `alg` on each key (RS256 by default, PS256 when the realm signs with
    // it): realm discovery at `{realm}/.well-known/openid-configuration`, keys at
    // `{realm}/protocol/openid-connect/certs` (Keycloak Securing Applications guide).
    #[tokio::test]
    async fn keycloak_preset() {
        let (to, docs) = idp().await;
        let realm = "https://sso.example.com/realms/acme";
        discovery(
            &docs,
            realm,
            &format!("{realm}/protocol/openid-connect/certs"),
            vec![rsa_jwk("rs", Some("RS256")), rsa_jwk("ps", Some("PS256"))],
        );
        let layer = ready(hs_free().keycloak(realm, "notes-api"), to).await;
        let token = with(
            &keycloak(),
            json!({ "iss": realm, "aud": ["notes-api", "account"] }),
        );
        for (alg, kid) in [(Algorithm::RS256, "rs"), (Algorithm::PS256, "ps")] {
            assert!(layer.verify(&signed(alg, kid, &token)).is_ok(), "{alg:?}");
        }
        let app = guarded(layer.clone(), Require::role("notes-writer"));
        assert_eq!(
            status_of(&app, &signed(Algorithm::RS256, "rs", &token)).await,
            200
        );
        // Keycloak's default `aud` (`account`) is not this API.
        let other = with(&token, json!({ "aud": "account" }));
        assert_eq!(
            refusal(&layer, "rs", &other),
            Some(AuthError::InvalidAudience)
        );
        // An ID token of the same client (Keycloak: `typ` "ID", `aud` the client, as sent in
        // a logout URL's `id_token_hint`) and a token without `typ` are not access tokens.
        for typ in [json!("ID"), json!("Refresh"), json!("bearer"), Value::Null] {
            let id_token = with(&token, json!({ "typ": typ, "aud": "notes-api" }));
            assert_eq!(
                refusal(&layer, "rs", &id_token),
                Some(AuthError::InvalidType),
                "{typ}"
            );
        }
    }

    // Auth0: discovery at `https://{domain}/.well-known/openid-configuration`, keys at
    // `https://{domain}/.well-known/jwks.json` with `alg` RS256 (Auth0 docs, "Locate JSON Web
    // Key Sets").
    #[tokio::test]
    async fn auth0_preset() {
        let (to, docs) = idp().await;
        let issuer = "https://acme.us.auth0.com/";
        discovery(
            &docs,
            issuer,
            "https://acme.us.auth0.com/.well-known/jwks.json",
            vec![rsa_jwk("auth0-key", Some("RS256"))],
        );
        let layer = ready(
            hs_free().auth0("acme.us.auth0.com", "https://notes.example.com"),
            to,
        )
        .await;
        let token = signed(Algorithm::RS256, "auth0-key", &auth0());
        let app = guarded(layer.clone(), Require::scope("write:notes"));
        assert_eq!(status_of(&app, &token).await, 200);
        let other_api = with(&auth0(), json!({ "aud": "https://billing.example.com" }));
        assert_eq!(
            refusal(&layer, "auth0-key", &other_api),
            Some(AuthError::InvalidAudience)
        );
    }

    // Issue #22: two presets on one layer are two issuers with two policies. Keycloak's
    // realm and Auth0's tenant, each with its documented shapes (above); a token of one is
    // held to its own audience and mapping alone, and a token naming one issuer is
    // verified with that issuer's keys alone.
    #[tokio::test]
    async fn two_presets_are_two_policies() {
        let (to, docs) = idp().await;
        let realm = "https://sso.example.com/realms/acme";
        discovery(
            &docs,
            realm,
            &format!("{realm}/protocol/openid-connect/certs"),
            vec![rsa_jwk("kc", Some("RS256"))],
        );
        discovery(
            &docs,
            "https://acme.us.auth0.com/",
            "https://acme.us.auth0.com/.well-known/jwks.json",
            vec![rsa_jwk("auth0-key", Some("RS256"))],
        );
        let layer = ready(
            hs_free()
                .keycloak(realm, "notes-api")
                .auth0("acme.us.auth0.com", "https://notes.example.com"),
            to,
        )
        .await;
        let kc = with(&keycloak(), json!({ "iss": realm, "aud": "notes-api" }));
        assert!(layer.verify(&signed(Algorithm::RS256, "kc", &kc)).is_ok());
        assert!(
            layer
                .verify(&signed(Algorithm::RS256, "auth0-key", &auth0()))
                .is_ok()
        );
        // A Keycloak token for Auth0's API: Keycloak's audience is `notes-api` only.
        let kc_for_auth0_api = with(&kc, json!({ "aud": "https://notes.example.com" }));
        assert_eq!(
            refusal(&layer, "kc", &kc_for_auth0_api),
            Some(AuthError::InvalidAudience)
        );
        // An Auth0 token does not need Keycloak's `typ`, and its `realm_access` grants it
        // nothing: Auth0's mapping reads `scope` and `permissions`.
        let auth0_with_realm_roles = with(
            &auth0(),
            json!({ "realm_access": { "roles": ["notes-writer"] } }),
        );
        let token = signed(Algorithm::RS256, "auth0-key", &auth0_with_realm_roles);
        let writers = guarded(layer.clone(), Require::role("notes-writer"));
        assert_eq!(status_of(&writers, &token).await, 403);
        let kc_token = signed(Algorithm::RS256, "kc", &kc);
        assert_eq!(status_of(&writers, &kc_token).await, 200);
        // Keycloak's key under Auth0's name: Auth0's key set has no `kc`.
        let kc_as_auth0 = with(&auth0(), json!({}));
        assert_eq!(
            refusal(&layer, "kc", &kc_as_auth0),
            Some(AuthError::UnknownKey)
        );
    }

    // Cognito: `https://cognito-idp.{region}.amazonaws.com/{pool}/.well-known/jwks.json`,
    // keys with `alg` RS256 (Amazon Cognito Developer Guide, "Verifying a JSON Web Token").
    #[tokio::test]
    async fn cognito_preset() {
        let (to, docs) = idp().await;
        let issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example";
        discovery(
            &docs,
            issuer,
            &format!("{issuer}/.well-known/jwks.json"),
            vec![rsa_jwk("cognito-key", Some("RS256"))],
        );
        let layer = ready(
            hs_free().cognito("us-east-1", "us-east-1_example", ["1example23456789"]),
            to,
        )
        .await;
        let token = cognito();
        let app = guarded(layer.clone(), Require::role("editors"));
        assert_eq!(
            status_of(&app, &signed(Algorithm::RS256, "cognito-key", &token)).await,
            200
        );
        for (broken, error) in [
            (json!({ "token_use": "id" }), AuthError::InvalidType),
            (json!({ "token_use": null }), AuthError::InvalidType),
            (
                json!({ "client_id": "another-client" }),
                AuthError::InvalidAudience,
            ),
            (
                json!({ "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other" }),
                AuthError::InvalidIssuer,
            ),
        ] {
            let claims = with(&token, broken.clone());
            assert_eq!(
                refusal(&layer, "cognito-key", &claims),
                Some(error),
                "{broken}"
            );
        }
    }

    // Entra ID: keys at `https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys`
    // without `alg` (Microsoft identity platform docs, "Signing key rollover"); v1.0 and
    // v2.0 tokens ("Access token claims reference": `iss`, `aud`, `ver`, `tid`).
    #[tokio::test]
    async fn entra_id_preset() {
        let (to, docs) = idp().await;
        let tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        let client = "6e74172b-be56-4843-9ff4-e66a39bb12e3";
        publish(
            &docs,
            &format!("https://login.microsoftonline.com/{tid}/discovery/v2.0/keys"),
            json!({ "keys": [rsa_jwk("entra-key", None)] }),
        );
        let layer = ready(hs_free().entra_id(tid, client), to).await;
        let v2 = json!({
            "aud": client, "iss": format!("https://login.microsoftonline.com/{tid}/v2.0"),
            "iat": now(), "nbf": now(), "exp": now() + 3600,
            "roles": ["Notes.Admin"], "scp": "Notes.Read", "sub": "s", "tid": tid, "ver": "2.0",
            "azp": "c0ffee00-0000-4000-8000-000000000001", "azpacr": "1"
        });
        // v1.0 access tokens name the client in `appid` instead of `azp`.
        let v1 = with(
            &v2,
            json!({
                "aud": format!("api://{client}"), "iss": format!("https://sts.windows.net/{tid}/"),
                "ver": "1.0", "azp": null, "azpacr": null,
                "appid": "c0ffee00-0000-4000-8000-000000000001", "appidacr": "1"
            }),
        );
        let app = guarded(layer.clone(), Require::role("Notes.Admin"));
        for token in [&v2, &v1] {
            assert_eq!(
                status_of(&app, &signed(Algorithm::RS256, "entra-key", token)).await,
                200
            );
        }
        let other_tenant = with(
            &v2,
            json!({ "tid": "00000000-0000-0000-0000-000000000000" }),
        );
        assert_eq!(
            refusal(&layer, "entra-key", &other_tenant),
            Some(AuthError::InvalidIssuer)
        );
        let other_app = with(
            &v2,
            json!({ "aud": "00000003-0000-0000-c000-000000000000" }),
        );
        assert_eq!(
            refusal(&layer, "entra-key", &other_app),
            Some(AuthError::InvalidAudience)
        );
        // A v2.0 ID token of the same app ("ID token claims reference": `aud` the client id,
        // the tenant's `iss`, `tid`, `ver`; app roles assigned to the user in `roles`; no
        // `azp`, `appid` or `scp`) is not an access token.
        let id_token = json!({
            "aud": client, "iss": format!("https://login.microsoftonline.com/{tid}/v2.0"),
            "iat": now(), "nbf": now(), "exp": now() + 3600,
            "name": "Alice", "oid": "690222be-ff1a-4d56-abd1-7e4f7d38e474",
            "preferred_username": "alice@contoso.com", "roles": ["Notes.Admin"],
            "rh": "I", "sub": "s", "tid": tid, "uti": "fqiBqXLPj0eQa82S-IYFAA", "ver": "2.0",
            "nonce": "n-0S6_WzA2Mj", "aio": "Df2UVXL1ix!lMCWMSOJBcFatzcGfvFGhjKv8q5g0x732dR5MB5BisvGQO7YWByjd8iQDLq!eGbIDakyp5mnOrcdqHeYSnltepQmRp6AIZ8jY"
        });
        assert_eq!(
            refusal(&layer, "entra-key", &id_token),
            Some(AuthError::InvalidType)
        );
    }

    // Okta: discovery at `{issuer}/.well-known/openid-configuration` of the custom
    // authorization server, keys with `alg` RS256 (Okta docs, "Validate access tokens").
    #[tokio::test]
    async fn okta_preset() {
        let (to, docs) = idp().await;
        let issuer = "https://acme.okta.com/oauth2/default";
        discovery(
            &docs,
            issuer,
            &format!("{issuer}/v1/keys"),
            vec![rsa_jwk("okta-key", Some("RS256"))],
        );
        let layer = ready(hs_free().okta(issuer, "api://default"), to).await;
        let token = signed(Algorithm::RS256, "okta-key", &okta());
        assert_eq!(
            status_of(
                &guarded(layer.clone(), Require::role("Notes Admins")),
                &token
            )
            .await,
            200
        );
        let org_server = with(&okta(), json!({ "iss": "https://acme.okta.com" }));
        assert_eq!(
            refusal(&layer, "okta-key", &org_server),
            Some(AuthError::InvalidIssuer)
        );
    }

    // Google ID tokens: keys at `https://www.googleapis.com/oauth2/v3/certs`, `iss` either
    // `https://accounts.google.com` or `accounts.google.com` (Google Identity docs,
    // "Authenticate with a backend server").
    #[tokio::test]
    async fn google_preset() {
        let (to, docs) = idp().await;
        publish(
            &docs,
            "https://www.googleapis.com/oauth2/v3/certs",
            json!({ "keys": [rsa_jwk("g", Some("RS256"))] }),
        );
        let client = "1234567890-abc.apps.googleusercontent.com";
        let layer = ready(hs_free().google(client), to).await;
        let id_token = json!({
            "iss": "https://accounts.google.com", "azp": client, "aud": client,
            "sub": "110169484474386276334", "email": "alice@example.com", "email_verified": true,
            "iat": now(), "exp": now() + 3600
        });
        for iss in ["https://accounts.google.com", "accounts.google.com"] {
            let token = with(&id_token, json!({ "iss": iss }));
            assert!(
                layer.verify(&signed(Algorithm::RS256, "g", &token)).is_ok(),
                "{iss}"
            );
        }
        let other_client = with(
            &id_token,
            json!({ "aud": "someone-else.apps.googleusercontent.com" }),
        );
        assert_eq!(
            refusal(&layer, "g", &other_client),
            Some(AuthError::InvalidAudience)
        );
    }

    // Firebase ID tokens: keys from the securetoken service account, `iss`
    // `https://securetoken.google.com/{project}`, `aud` the project, a non-empty `sub`
    // (Firebase docs, "Verify ID tokens using a third-party JWT library").
    #[tokio::test]
    async fn firebase_preset() {
        let (to, docs) = idp().await;
        publish(
            &docs,
            "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com",
            json!({ "keys": [rsa_jwk("fb", Some("RS256"))] }),
        );
        let layer = ready(hs_free().firebase("notes-1234"), to).await;
        let id_token = json!({
            "iss": "https://securetoken.google.com/notes-1234", "aud": "notes-1234",
            "auth_time": now(), "user_id": "u1", "sub": "u1", "iat": now(), "exp": now() + 3600,
            "firebase": { "identities": {}, "sign_in_provider": "password" }
        });
        assert!(
            layer
                .verify(&signed(Algorithm::RS256, "fb", &id_token))
                .is_ok()
        );
        let no_sub = with(&id_token, json!({ "sub": null }));
        assert_eq!(
            refusal(&layer, "fb", &no_sub),
            Some(AuthError::MissingClaim)
        );
        let other_project = with(&id_token, json!({ "aud": "other-project" }));
        assert_eq!(
            refusal(&layer, "fb", &other_project),
            Some(AuthError::InvalidAudience)
        );
    }

    /// A builder with no key of its own: the preset brings them.
    fn hs_free() -> JwtAuthBuilder<Value> {
        JwtAuthLayer::<Value>::builder()
    }
}
