//! OAuth 2.0 Protected Resource Metadata (RFC 9728): the document field by field (§2), where
//! it is published (§3.1), the challenges that point to it (§5.1), and the audience it implies
//! (RFC 8707, as the MCP authorization spec asks).

mod common;

use axum::routing::get;
use common::*;
use serde_json::{Value, json};
use tower::ServiceExt;
use tower_jwt_auth::authorize::Require;
use tower_jwt_auth::metadata::{BearerMethod, ResourceMetadata};
use tower_jwt_auth::{Algorithm, ConfigError, JwtAuthLayer};

const RESOURCE: &str = "https://mcp.example.com/mcp";
const DOCUMENT: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

fn metadata() -> ResourceMetadata {
    ResourceMetadata::new(RESOURCE)
        .authorization_server("https://auth.example.com")
        .scopes_supported(["tools:call", "tools:read"])
        .bearer_methods_supported([BearerMethod::Header])
}

async fn get_document(metadata: &ResourceMetadata, method: &str) -> http::Response<String> {
    let request = http::Request::builder()
        .method(method)
        .uri(metadata.well_known_path())
        .body(())
        .unwrap();
    metadata.service().unwrap().oneshot(request).await.unwrap()
}

/// RFC 9728 §2: each member under its registered name, with its JSON type; the optional ones
/// left out when not configured (§2: "omitted"), never written as `null`.
#[tokio::test]
async fn the_document_carries_the_rfc_9728_section_2_members() {
    let full = metadata()
        .authorization_server("https://login.example.org/tenant")
        .jwks_uri("https://mcp.example.com/jwks.json")
        .resource_signing_algs([Algorithm::ES256])
        .resource_name("Example MCP")
        .resource_documentation("https://mcp.example.com/docs")
        .resource_policy_uri("https://mcp.example.com/policy")
        .resource_tos_uri("https://mcp.example.com/tos")
        .dpop_signing_algs([Algorithm::ES256, Algorithm::EdDSA])
        .dpop_bound_access_tokens_required(true);
    let res = get_document(&full, "GET").await;
    assert_eq!(res.status(), 200);
    // §3.2: "a 200 OK status code and ... Content-Type application/json".
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    let document: Value = serde_json::from_str(res.body()).unwrap();
    assert_eq!(
        document,
        json!({
            "resource": RESOURCE,
            "authorization_servers": ["https://auth.example.com", "https://login.example.org/tenant"],
            "jwks_uri": "https://mcp.example.com/jwks.json",
            "scopes_supported": ["tools:call", "tools:read"],
            "bearer_methods_supported": ["header"],
            "resource_signing_alg_values_supported": ["ES256"],
            "resource_name": "Example MCP",
            "resource_documentation": "https://mcp.example.com/docs",
            "resource_policy_uri": "https://mcp.example.com/policy",
            "resource_tos_uri": "https://mcp.example.com/tos",
            "dpop_signing_alg_values_supported": ["ES256", "EdDSA"],
            "dpop_bound_access_tokens_required": true,
        })
    );
    let minimal = get_document(&ResourceMetadata::new(RESOURCE), "GET").await;
    let minimal: Value = serde_json::from_str(minimal.body()).unwrap();
    assert_eq!(
        minimal,
        json!({ "resource": RESOURCE }),
        "only the REQUIRED member"
    );

    assert_eq!(get_document(&full, "HEAD").await.status(), 200);
    let post = get_document(&full, "POST").await;
    assert_eq!(post.status(), 405);
    assert_eq!(post.headers()["allow"], "GET, HEAD, OPTIONS");
}

/// RFC 9728 §3.1: the well-known segment goes between the host and the resource's path, a
/// terminating slash removed; the port stays with the host.
#[test]
fn the_well_known_url_puts_the_suffix_between_host_and_path() {
    let cases = [
        (
            "https://r.example.com",
            "/.well-known/oauth-protected-resource",
        ),
        (
            "https://r.example.com/",
            "/.well-known/oauth-protected-resource",
        ),
        (
            "https://r.example.com/mcp",
            "/.well-known/oauth-protected-resource/mcp",
        ),
        (
            "https://r.example.com/a/b/",
            "/.well-known/oauth-protected-resource/a/b",
        ),
    ];
    for (resource, path) in cases {
        let metadata = ResourceMetadata::new(resource);
        assert_eq!(metadata.well_known_path(), path, "{resource}");
        assert_eq!(metadata.url(), format!("https://r.example.com{path}"));
    }
    let port = ResourceMetadata::new("https://r.example.com:8443/mcp");
    assert_eq!(
        port.url(),
        "https://r.example.com:8443/.well-known/oauth-protected-resource/mcp"
    );
    // §3.3: the document's `resource` is the identifier exactly as configured.
    assert_eq!(metadata().resource(), RESOURCE);
}

#[cfg(feature = "axum")]
struct CallTools;
#[cfg(feature = "axum")]
impl tower_jwt_auth::axum::Permission<Value> for CallTools {
    const SCOPES: &'static [&'static str] = &["tools:call"];
}

/// The paths that answer `403` to a token without `tools:call`.
const GUARDED: &[&str] = if cfg!(feature = "axum") {
    &["/tools", "/extract"]
} else {
    &["/tools"]
};

fn app() -> axum::Router {
    let layer = JwtAuthLayer::<Value>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .resource_metadata(metadata())
        .build()
        .unwrap();
    let require = Require::<Value>::scope("tools:call").build().unwrap();
    let app = axum::Router::new()
        .route("/", get(|| async { "ok" }))
        .route("/tools", get(|| async { "ok" }).layer(require));
    #[cfg(feature = "axum")]
    let app = app.route(
        "/extract",
        get(|_: tower_jwt_auth::Authorized<Value, CallTools>| async { "ok" }),
    );
    app.layer(layer)
}

fn token(aud: Value, scope: &str) -> String {
    mint(&json!({ "sub": "alice", "aud": aud, "scope": scope, "exp": now() + 600 }))
}

/// RFC 9728 §5.1: "the resource_metadata parameter ... in the WWW-Authenticate header", in
/// every challenge: no token (RFC 6750 §3.1: no error code), a bad token, and the
/// `insufficient_scope` of `Require` and of the `Authorized` extractor (beside `scope`).
#[tokio::test]
async fn every_challenge_names_the_metadata_document() {
    let app = app();
    let param = format!("resource_metadata=\"{DOCUMENT}\"");
    let no_token = call(&app, "/", &[]).await;
    assert_eq!(no_token.status, 401);
    assert_eq!(
        no_token.headers["www-authenticate"],
        format!("Bearer realm=\"api\", {param}").as_str()
    );
    let expired = mint(&json!({ "sub": "alice", "aud": RESOURCE, "exp": now() - 600 }));
    let res = call(&app, "/", &[("authorization", &bearer(&expired))]).await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.headers["www-authenticate"],
        format!("{}, {param}", invalid_token("the token has expired")).as_str()
    );
    let reader = token(json!(RESOURCE), "tools:read");
    for &path in GUARDED {
        let res = call(&app, path, &[("authorization", &bearer(&reader))]).await;
        assert_eq!(res.status, 403, "{path}");
        let challenge = res.headers["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Bearer realm=\"api\", error=\"insufficient_scope\""));
        assert!(challenge.contains("scope=\"tools:call\""), "{challenge}");
        assert!(
            challenge.ends_with(&format!(", {param}")),
            "{path}: {challenge}"
        );
    }
    let caller = token(json!(RESOURCE), "tools:call");
    for &path in [&["/"], GUARDED].concat().iter() {
        let res = call(&app, path, &[("authorization", &bearer(&caller))]).await;
        assert_eq!(res.status, 200, "{path}");
    }
}

/// RFC 8707 §2 and the MCP authorization spec: a resource takes only the tokens issued for
/// it, so with metadata the audience defaults to the resource identifier; a token for
/// another resource, or for none, is refused.
#[tokio::test]
async fn the_audience_defaults_to_the_resource_identifier() {
    let app = app();
    let ok = token(json!(RESOURCE), "");
    assert_eq!(status_of(&app, &ok).await, 200);
    let among = token(json!(["https://other.example.com", RESOURCE]), "");
    assert_eq!(status_of(&app, &among).await, 200);
    let other = token(json!("https://other.example.com/mcp"), "");
    let res = call(&app, "/", &[("authorization", &bearer(&other))]).await;
    assert_eq!(res.status, 401);
    assert!(
        res.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    let none = mint(&json!({ "sub": "alice", "exp": now() + 600 }));
    assert_eq!(status_of(&app, &none).await, 401);

    // An audience configured explicitly is kept as it is.
    let explicit = JwtAuthLayer::<Value>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .audience("urn:example:gateway")
        .resource_metadata(metadata())
        .build()
        .unwrap();
    let gateway = token(json!("urn:example:gateway"), "");
    assert_eq!(status_of(&ok_behind(explicit.clone()), &gateway).await, 200);
    assert_eq!(status_of(&ok_behind(explicit), &ok).await, 401);
}

/// RFC 9728 §1.2 (an `https` identifier without fragment; a query discouraged, refused
/// here) and §2 (URLs for the servers and pages): each mistake fails `build()`.
#[test]
fn metadata_that_cannot_be_published_fails_at_build() {
    let build = |metadata: ResourceMetadata| {
        JwtAuthLayer::<Value>::builder()
            .hmac_secret(SECRET, Algorithm::HS256)
            .resource_metadata(metadata)
            .build()
            .map(|_| ())
    };
    let bad = [
        ResourceMetadata::new("http://mcp.example.com/mcp"),
        ResourceMetadata::new("mcp.example.com/mcp"),
        ResourceMetadata::new("https://mcp.example.com/mcp#tools"),
        ResourceMetadata::new("https://mcp.example.com/mcp?tenant=a"),
        // `http` takes `"` and `\` in a path; in the challenge's quoted-string they would
        // end the string early or escape what follows.
        ResourceMetadata::new("https://mcp.example.com/m\"cp"),
        ResourceMetadata::new("https://mcp.example.com/m\\cp"),
        metadata().authorization_server("http://auth.example.com"),
        metadata().resource_documentation("docs"),
        metadata().scopes_supported(["tools call"]),
    ];
    for metadata in bad {
        let resource = metadata.resource().to_owned();
        let err = build(metadata).unwrap_err();
        assert!(
            matches!(err, ConfigError::InvalidResourceMetadata(_)),
            "{resource}: {err:?}"
        );
        assert!(
            err.to_string()
                .starts_with("invalid protected resource metadata: ")
        );
    }
    // Loopback over http, for development.
    assert!(build(ResourceMetadata::new("http://127.0.0.1:8080/mcp")).is_ok());
    assert!(build(metadata()).is_ok());
}
