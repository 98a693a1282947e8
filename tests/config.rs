//! Configuration from a file (issue #21, item 5): an `AuthConfig` read from TOML turns into
//! the builder with the same checks and errors, secrets come from the environment (or a
//! lookup the application gives), never from the file.

mod common;

use std::collections::HashMap;

use common::*;
use serde_json::json;
use tower_jwt_auth::config::AuthConfig;
use tower_jwt_auth::jsonwebtoken::{EncodingKey, Header};
use tower_jwt_auth::{Algorithm, ConfigError, JwtAuthLayer};

fn parse(text: &str) -> AuthConfig {
    toml::from_str(text).unwrap_or_else(|e| panic!("{e}"))
}

/// The secrets a test's "environment" holds.
fn secrets(name: &str) -> Option<String> {
    let env: HashMap<&str, &[u8]> = HashMap::from([
        ("API_SECRET", SECRET),
        (
            "TENANT_A_SECRET",
            &b"tenant A's secret, thirty-two bytes!"[..],
        ),
        (
            "TENANT_B_SECRET",
            &b"tenant B's secret, thirty-two bytes!"[..],
        ),
        ("SHORT_SECRET", &b"too short"[..]),
        (
            "INTROSPECTION_SECRET",
            &b"the notes API's secret at the server"[..],
        ),
    ]);
    env.get(name)
        .map(|s| String::from_utf8(s.to_vec()).unwrap())
}

fn layer(text: &str) -> Result<JwtAuthLayer<serde_json::Value>, ConfigError> {
    JwtAuthLayer::from_config_with_secrets(&parse(text), secrets)?.build()
}

fn mint_secret(secret: &[u8], claims: &serde_json::Value) -> String {
    mint_with(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret).unwrap(),
    )
}

#[tokio::test]
async fn a_toml_file_configures_keys_audiences_claims_and_sources() {
    let app = ok_behind(
        layer(
            r#"
            audiences = ["https://api.example.com"]
            required_claims = ["exp", "sub"]
            leeway_seconds = 0
            token_sources = [{ bearer = {} }, { cookie = "access_token" }]

            [[keys]]
            hmac_secret_env = "API_SECRET"
            algorithm = "HS256"
            "#,
        )
        .unwrap(),
    );
    let claims = json!({ "sub": "alice", "aud": "https://api.example.com", "exp": now() + 60 });
    assert_eq!(status_of(&app, &mint(&claims)).await, 200);
    // From the cookie the file names.
    let cookie = format!("access_token={}", mint(&claims));
    let answer = call(&app, "/", &[("cookie", &cookie)]).await;
    assert_eq!(answer.status, 200);
    // The audience and the required `sub` are the file's.
    let other_aud = json!({ "sub": "alice", "aud": "https://other.example", "exp": now() + 60 });
    assert_eq!(status_of(&app, &mint(&other_aud)).await, 401);
    let no_sub = json!({ "aud": "https://api.example.com", "exp": now() + 60 });
    assert_eq!(status_of(&app, &mint(&no_sub)).await, 401);
    // No leeway: expired a second ago is expired.
    let expired = json!({ "sub": "alice", "aud": "https://api.example.com", "exp": now() - 1 });
    assert_eq!(status_of(&app, &mint(&expired)).await, 401);
}

#[tokio::test]
async fn a_public_key_from_a_file_verifies_its_tokens() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rsa_public.pem");
    let app = ok_behind(
        layer(&format!(
            "[[keys]]\npublic_key_pem_file = {path:?}\nalgorithm = \"RS256\"\nkid = \"k1\"\n"
        ))
        .unwrap(),
    );
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("k1".into());
    let token = mint_with(&header, &valid_claims(), &encoding_key(Algorithm::RS256));
    assert_eq!(status_of(&app, &token).await, 200);
    // The kid the file gives the key is the only one it answers to.
    header.kid = Some("k2".into());
    let other = mint_with(&header, &valid_claims(), &encoding_key(Algorithm::RS256));
    assert_eq!(status_of(&app, &other).await, 401);
}

/// Two tenants from one file: each issuer's token is held to its own audience, as with
/// `issuer_policy` in code.
#[tokio::test]
async fn issuer_policies_from_a_file_keep_each_tenant_to_its_own_rules() {
    let app = ok_behind(
        layer(
            r#"
            [[issuer_policies]]
            issuer = "https://idp.tenant-a.example"
            audiences = ["notes-api"]
            keys = [{ hmac_secret_env = "TENANT_A_SECRET", algorithm = "HS256" }]

            [[issuer_policies]]
            issuer = "https://idp.tenant-b.example"
            audiences = ["https://notes.tenant-b.example"]
            keys = [{ hmac_secret_env = "TENANT_B_SECRET", algorithm = "HS256" }]
            "#,
        )
        .unwrap(),
    );
    let a = b"tenant A's secret, thirty-two bytes!";
    let claims = |aud: &str| json!({ "iss": "https://idp.tenant-a.example", "sub": "x", "aud": aud, "exp": now() + 60 });
    assert_eq!(
        status_of(&app, &mint_secret(a, &claims("notes-api"))).await,
        200
    );
    // Tenant A's token with tenant B's audience.
    let crossed = mint_secret(a, &claims("https://notes.tenant-b.example"));
    assert_eq!(status_of(&app, &crossed).await, 401);
}

#[test]
fn secrets_are_named_never_given_and_a_missing_one_says_which() {
    let err =
        layer("[[keys]]\nhmac_secret_env = \"NOT_SET\"\nalgorithm = \"HS256\"\n").unwrap_err();
    assert_eq!(
        err,
        ConfigError::MissingSecret {
            variable: "NOT_SET".into()
        }
    );
    assert!(err.to_string().contains("NOT_SET"), "{err}");
    // There is no field for the secret itself: a file that holds one does not load.
    let inline = toml::from_str::<AuthConfig>(
        "[[keys]]\nhmac_secret = \"a secret in the file\"\nalgorithm = \"HS256\"\n",
    );
    assert!(inline.is_err());
}

#[test]
fn mistakes_fail_with_the_builders_own_errors_or_say_what_to_fix() {
    // The builder's checks, unchanged: a short secret.
    let short = layer("[[keys]]\nhmac_secret_env = \"SHORT_SECRET\"\nalgorithm = \"HS256\"\n");
    assert!(
        matches!(short, Err(ConfigError::WeakHmacSecret { .. })),
        "{short:?}"
    );
    // No key at all.
    assert_eq!(
        layer("audiences = [\"x\"]\n").unwrap_err(),
        ConfigError::NoKeys
    );
    // A key in two forms, or a PEM without its algorithm.
    let two = layer(
        "[[keys]]\nhmac_secret_env = \"API_SECRET\"\njwks_json = \"{}\"\nalgorithm = \"HS256\"\n",
    );
    assert!(
        matches!(&two, Err(ConfigError::InvalidConfig(why)) if why.contains("several")),
        "{two:?}"
    );
    let no_alg = layer("[[keys]]\npublic_key_pem = \"-----BEGIN PUBLIC KEY-----\"\n");
    assert!(
        matches!(&no_alg, Err(ConfigError::InvalidConfig(why)) if why.contains("algorithm")),
        "{no_alg:?}"
    );
    // A misspelt option does not load, rather than being ignored.
    let misspelt = toml::from_str::<AuthConfig>("audience = [\"x\"]\n").unwrap_err();
    assert!(misspelt.to_string().contains("audience"), "{misspelt}");
    // A bad header name for a token source.
    let header = layer(
        "token_sources = [{ header = \"no spaces allowed\" }]\n\
         [[keys]]\nhmac_secret_env = \"API_SECRET\"\nalgorithm = \"HS256\"\n",
    );
    assert!(
        matches!(header, Err(ConfigError::InvalidTokenSource(_))),
        "{header:?}"
    );
}

/// Provider presets and remote keys from a file (feature `jwks`): the layer builds as the
/// same calls in code would, and an issuer policy in two forms is refused.
#[cfg(feature = "jwks")]
#[tokio::test]
async fn presets_and_remote_keys_from_a_file() {
    let auth = layer(
        r#"
        [[keys]]
        oidc_issuer = "https://login.example.com"

        [jwks]
        max_staleness_seconds = 21600

        [[issuer_policies]]
        preset = { provider = "keycloak", realm_url = "https://sso.example.com/realms/acme", client_id = "notes-api" }

        [[issuer_policies]]
        preset = { provider = "entra_id", tenant_id = "72f988bf-86f1-41af-91ab-2d7cd011db47", client_id = "6e74172b-be56-4843-9ff4-e66a39bb12e3" }
        "#,
    );
    assert!(auth.is_ok(), "{:?}", auth.err());
    let two_forms = layer(
        "[[issuer_policies]]\noidc = \"https://a.example\"\njwks_url = \"https://a.example/jwks\"\n",
    );
    assert!(
        matches!(two_forms, Err(ConfigError::InvalidConfig(_))),
        "{two_forms:?}"
    );
    // The same duplicate-issuer check as in code.
    let twice = layer(
        "[[issuer_policies]]\noidc = \"https://a.example\"\n\
         [[issuer_policies]]\noidc = \"https://a.example\"\n",
    );
    assert!(
        matches!(twice, Err(ConfigError::DuplicateIssuer(_))),
        "{twice:?}"
    );
}

/// An introspection endpoint on loopback that knows one token, `opaque-1`, and answers only
/// the client `notes-api` with its secret in the form (`client_secret_post`).
#[cfg(feature = "jwks")]
async fn introspection_endpoint() -> std::net::SocketAddr {
    use axum::Form;
    let answer = |Form(form): Form<HashMap<String, String>>| async move {
        let client = form.get("client_id").map(String::as_str);
        let secret = form.get("client_secret").map(String::as_str);
        if (client, secret)
            != (
                Some("notes-api"),
                Some("the notes API's secret at the server"),
            )
        {
            return (
                http::StatusCode::UNAUTHORIZED,
                r#"{"error":"invalid_client"}"#.to_owned(),
            );
        }
        let active = form.get("token").map(String::as_str) == Some("opaque-1");
        let body = if active {
            json!({ "active": true, "sub": "alice", "aud": "notes", "exp": now() + 600 })
        } else {
            json!({ "active": false })
        };
        (http::StatusCode::OK, body.to_string())
    };
    serve(axum::Router::new().route("/introspect", axum::routing::post(answer))).await
}

#[cfg(feature = "jwks")]
#[tokio::test]
async fn introspection_from_a_file_with_its_secret_named() {
    let addr = introspection_endpoint().await;
    let config = format!(
        r#"
        audiences = ["notes"]

        [introspection]
        endpoint = "http://{addr}/introspect"
        client_id = "notes-api"
        client_auth = "client_secret_post"
        client_secret_env = "INTROSPECTION_SECRET"
        cache_for_seconds = 0
        "#
    );
    let app = ok_behind(layer(&config).unwrap());
    assert_eq!(status_of(&app, "opaque-1").await, 200);
    assert_eq!(status_of(&app, "opaque-2").await, 401);
    // The secret under another name, or none: the layer cannot authenticate, and says so.
    let wrong = config.replace("INTROSPECTION_SECRET", "API_SECRET");
    assert_eq!(
        status_of(&ok_behind(layer(&wrong).unwrap()), "opaque-1").await,
        503
    );
    let missing = config.replace("INTROSPECTION_SECRET", "NO_SUCH_SECRET");
    assert!(
        matches!(layer(&missing), Err(ConfigError::MissingSecret { variable }) if variable == "NO_SUCH_SECRET")
    );
    // Mistakes that say what to fix.
    let both = config.replace(
        "client_id =",
        &format!("issuer = \"http://{addr}\"\n client_id ="),
    );
    assert!(matches!(layer(&both), Err(ConfigError::InvalidConfig(_))));
    let no_key = config.replace("client_secret_post", "private_key_jwt");
    assert!(matches!(layer(&no_key), Err(ConfigError::InvalidConfig(_))));
    let no_client = config.replace("client_id = \"notes-api\"", "");
    assert!(matches!(
        layer(&no_client),
        Err(ConfigError::InvalidConfig(_))
    ));
}
