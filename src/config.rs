//! Configuration from a file or the environment: [`AuthConfig`], a serde-deserialisable
//! description of a layer that turns into a [`JwtAuthBuilder`] — the same checks, the same
//! [`ConfigError`]s at [`build`](JwtAuthBuilder::build).
//!
//! Any serde format reads it (TOML, YAML, JSON), and configuration crates such as
//! `figment` or `config` can layer environment variables over a file. Secrets never sit in
//! the file: an HMAC secret is named by the environment variable that holds it
//! (`secret_env`), read when the builder is made. Public keys may be inline or in a file.
//! What cannot be described as data — a revocation store, a custom error response, a
//! custom token source — is chained on the builder afterwards.
//!
//! ```
//! use tower_jwt_auth::config::AuthConfig;
//! use tower_jwt_auth::{JwtAuthLayer, RegisteredClaims};
//!
//! let config: AuthConfig = toml::from_str(r#"
//!     audiences = ["https://api.example.com"]
//!     leeway_seconds = 10
//!     required_claims = ["exp", "sub"]
//!     token_sources = [{ bearer = {} }, { cookie = "access_token" }]
//!
//!     [[keys]]
//!     hmac_secret_env = "APP_JWT_SECRET"   # the secret's variable, never the secret
//!     algorithm = "HS256"
//! "#)?;
//! # unsafe { std::env::set_var("APP_JWT_SECRET", "at least thirty-two bytes of secret!") };
//! let auth = JwtAuthLayer::<RegisteredClaims>::from_config(&config)?.build()?;
//! # let _ = auth;
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! ```
//!
//! With feature `jwks`, keys from a provider and per-issuer policies (presets included):
//!
//! ```toml
//! [[keys]]
//! oidc_issuer = "https://login.example.com"
//!
//! [jwks]
//! max_staleness_seconds = 21600
//!
//! [[issuer_policies]]
//! preset = { provider = "keycloak", realm_url = "https://sso.example.com/realms/acme", client_id = "notes-api" }
//!
//! [[issuer_policies]]
//! oidc = "https://login.tenant-b.example"
//! audiences = ["notes"]
//! roles_from = ["/groups"]
//!
//! [introspection]  # opaque tokens: see IntrospectionConfig
//! issuer = "https://login.example.com"
//! client_id = "notes-api"
//! client_secret_env = "INTROSPECTION_SECRET"
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use http::HeaderName;
use serde::Deserialize;

use crate::builder::JwtAuthBuilder;
use crate::claims::Claim;
use crate::extract::TokenSource;
use crate::revocation::OnStoreError;
use crate::tenant::IssuerPolicy;
use crate::{Algorithm, ConfigError, DecodingKey};

/// A layer's configuration as data; see the [module](self) page.
///
/// Every field is optional: what is left out keeps the builder's default. Unknown fields are
/// refused, so a misspelt option fails to load instead of being ignored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct AuthConfig {
    /// The layer's own keys.
    pub keys: Vec<KeyConfig>,
    /// The algorithm allow-list ([`algorithms`](JwtAuthBuilder::algorithms)).
    pub algorithms: Vec<Algorithm>,
    /// Accepted `iss` values ([`issuers`](JwtAuthBuilder::issuers)).
    pub issuers: Vec<String>,
    /// Accepted `aud` values ([`audiences`](JwtAuthBuilder::audiences)).
    pub audiences: Vec<String>,
    /// [`accept_any_audience`](JwtAuthBuilder::accept_any_audience).
    pub accept_any_audience: bool,
    /// [`leeway`](JwtAuthBuilder::leeway), in seconds.
    pub leeway_seconds: Option<u64>,
    /// [`required_claims`](JwtAuthBuilder::required_claims): `"exp"`, `"sub"`, …
    pub required_claims: Option<Vec<Claim>>,
    /// [`required_typ`](JwtAuthBuilder::required_typ).
    pub required_typ: Option<String>,
    /// [`max_token_age`](JwtAuthBuilder::max_token_age), in seconds.
    pub max_token_age_seconds: Option<u64>,
    /// [`max_token_lifetime`](JwtAuthBuilder::max_token_lifetime), in seconds.
    pub max_token_lifetime_seconds: Option<u64>,
    /// [`token_sources`](JwtAuthBuilder::token_sources), tried in this order.
    pub token_sources: Option<Vec<SourceConfig>>,
    /// [`optional`](JwtAuthBuilder::optional).
    pub optional: bool,
    /// [`allow_cors_preflight`](JwtAuthBuilder::allow_cors_preflight).
    pub allow_cors_preflight: bool,
    /// [`max_token_size`](JwtAuthBuilder::max_token_size), in bytes.
    pub max_token_size: Option<usize>,
    /// [`realm`](JwtAuthBuilder::realm).
    pub realm: Option<String>,
    /// [`token_cache`](JwtAuthBuilder::token_cache): how many verified tokens to keep.
    pub token_cache: Option<usize>,
    /// [`scopes_from`](JwtAuthBuilder::scopes_from): JSON pointers.
    pub scopes_from: Option<Vec<String>>,
    /// [`roles_from`](JwtAuthBuilder::roles_from): JSON pointers.
    pub roles_from: Option<Vec<String>>,
    /// [`client_id`](JwtAuthBuilder::client_id), for `{client_id}` in claim paths.
    pub client_id: Option<String>,
    /// [`require_claim`](JwtAuthBuilder::require_claim): a JSON pointer and the values it
    /// may hold.
    pub require_claims: BTreeMap<String, Vec<String>>,
    /// [`on_revocation_store_error`](JwtAuthBuilder::on_revocation_store_error):
    /// `"reject"` (the default) or `"allow"`.
    pub on_revocation_store_error: Option<OnStoreErrorConfig>,
    /// Remote key options ([`jwks_options`](JwtAuthBuilder::jwks_options); feature `jwks`).
    pub jwks: Option<JwksConfig>,
    /// Trusted issuers, each with its own policy
    /// ([`issuer_policy`](JwtAuthBuilder::issuer_policy)).
    pub issuer_policies: Vec<IssuerConfig>,
    /// Opaque tokens by introspection ([`introspection`](JwtAuthBuilder::introspection);
    /// feature `jwks`).
    pub introspection: Option<IntrospectionConfig>,
}

/// One key, or one source of keys. Exactly one of the fields that name a key is given;
/// `algorithm` goes with the PEM and secret forms.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct KeyConfig {
    /// The environment variable that holds an HMAC secret (never the secret itself).
    pub hmac_secret_env: Option<String>,
    /// A PEM public key, inline.
    pub public_key_pem: Option<String>,
    /// A file holding a PEM public key.
    pub public_key_pem_file: Option<PathBuf>,
    /// A JWKS document, inline (JSON text).
    pub jwks_json: Option<String>,
    /// A file holding a JWKS document.
    pub jwks_file: Option<PathBuf>,
    /// A JWKS URL, fetched and refreshed (feature `jwks`).
    pub jwks_url: Option<String>,
    /// An OpenID issuer, its keys found by discovery (feature `jwks`).
    pub oidc_issuer: Option<String>,
    /// The algorithm of a PEM key or an HMAC secret.
    pub algorithm: Option<Algorithm>,
    /// The `kid` a PEM key or a secret answers to.
    pub kid: Option<String>,
}

/// Where the token is read; see [`TokenSource`]. In TOML: `{ bearer = {} }`,
/// `{ cookie = "name" }`, `{ header = "x-api-token" }`, `{ query = "access_token" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum SourceConfig {
    /// `Authorization: Bearer`.
    Bearer {},
    /// A cookie of this name.
    Cookie(String),
    /// A header of this name, whose whole value is the token.
    Header(String),
    /// A query parameter of this name.
    Query(String),
}

/// [`OnStoreError`] as data.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OnStoreErrorConfig {
    /// [`OnStoreError::Reject`].
    Reject,
    /// [`OnStoreError::Allow`].
    Allow,
}

/// Remote key options (`JwksOptions`), in seconds; what is left out keeps its default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct JwksConfig {
    /// `refresh_interval`, without `Cache-Control: max-age`.
    pub refresh_interval_seconds: Option<u64>,
    /// `unknown_key_cooldown`.
    pub unknown_key_cooldown_seconds: Option<u64>,
    /// `timeout` of one fetch.
    pub timeout_seconds: Option<u64>,
    /// `max_staleness`; `0` means never drop the last fetched keys.
    pub max_staleness_seconds: Option<u64>,
    /// `allow_http`: plain `http` key URLs beyond loopback.
    pub allow_http: Option<bool>,
}

/// Token introspection (RFC 7662), as
/// [`Introspection`](crate::introspection::Introspection) takes it: the endpoint from
/// exactly one of `endpoint` and `issuer` (discovery); the layer's client credentials at the
/// authorization server — `client_id`, and `client_secret_env` (the secret's name, never
/// the secret) for `client_secret_basic` (the default) or `client_secret_post`, or
/// `private_key_pem_file` and `algorithm` (and `key_id`) for `private_key_jwt`; and the
/// options of the same names, durations in seconds.
///
/// ```toml
/// [introspection]
/// issuer = "https://login.example.com"
/// client_id = "notes-api"
/// client_secret_env = "INTROSPECTION_SECRET"
/// cache_for_seconds = 30
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct IntrospectionConfig {
    /// The endpoint's URL.
    pub endpoint: Option<String>,
    /// The issuer whose discovery document names the endpoint.
    pub issuer: Option<String>,
    /// The layer's client id at the authorization server.
    pub client_id: String,
    /// How the layer authenticates: `"client_secret_basic"` (the default),
    /// `"client_secret_post"` or `"private_key_jwt"`.
    pub client_auth: Option<ClientAuthConfig>,
    /// The name of the secret that holds the client secret (`client_secret_*`).
    pub client_secret_env: Option<String>,
    /// The client's private key, in PEM (`private_key_jwt`).
    pub private_key_pem_file: Option<PathBuf>,
    /// The private key's algorithm (`private_key_jwt`).
    pub algorithm: Option<Algorithm>,
    /// The `kid` of the client's key (`private_key_jwt`).
    pub key_id: Option<String>,
    /// `cache_for`; `0` keeps nothing.
    pub cache_for_seconds: Option<u64>,
    /// `cache_capacity`.
    pub cache_capacity: Option<usize>,
    /// `timeout` of one call.
    pub timeout_seconds: Option<u64>,
    /// `max_concurrent` calls.
    pub max_concurrent: Option<usize>,
    /// `token_type_hint`.
    pub token_type_hint: Option<bool>,
    /// `every_token`: JWTs are introspected too.
    pub every_token: bool,
    /// `jwt_answers`: signed answers (RFC 9701); needs `issuer`.
    pub jwt_answers: bool,
    /// `allow_http`: a plain `http` endpoint beyond loopback.
    pub allow_http: bool,
}

/// How the layer authenticates to the introspection endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClientAuthConfig {
    /// HTTP Basic.
    ClientSecretBasic,
    /// The id and secret in the form.
    ClientSecretPost,
    /// A JWT signed with the client's private key.
    PrivateKeyJwt,
}

/// One trusted issuer and its policy ([`IssuerPolicy`]). The keys come from exactly one of
/// `preset`, `oidc`, `jwks_url` (with `issuer`), or `keys` (with `issuer`); the other
/// fields add to the policy as the `IssuerPolicy` methods of the same names do.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct IssuerConfig {
    /// A provider preset (feature `jwks`).
    pub preset: Option<PresetConfig>,
    /// An OpenID issuer, its keys by discovery (feature `jwks`).
    pub oidc: Option<String>,
    /// The `iss` of an issuer whose keys are `jwks_url` or `keys`.
    pub issuer: Option<String>,
    /// A JWKS URL for `issuer` (feature `jwks`).
    pub jwks_url: Option<String>,
    /// Static keys for `issuer`: PEM keys and secrets.
    pub keys: Vec<KeyConfig>,
    /// Other `iss` forms of the same issuer.
    pub also_named: Vec<String>,
    /// The issuer's algorithm allow-list.
    pub algorithms: Vec<Algorithm>,
    /// Accepted `aud` values for this issuer.
    pub audiences: Vec<String>,
    /// Leeway for this issuer, in seconds.
    pub leeway_seconds: Option<u64>,
    /// Claims this issuer's tokens must carry.
    pub required_claims: Option<Vec<Claim>>,
    /// Where this issuer's tokens carry scopes.
    pub scopes_from: Option<Vec<String>>,
    /// Where this issuer's tokens carry roles.
    pub roles_from: Option<Vec<String>>,
    /// For `{client_id}` in claim paths.
    pub client_id: Option<String>,
    /// A JSON pointer and the values it may hold.
    pub require_claims: BTreeMap<String, Vec<String>>,
}

/// The identity-provider presets as data: `{ provider = "keycloak", realm_url = "…",
/// client_id = "…" }` and so on, with the arguments of the preset of that name.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "provider", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum PresetConfig {
    /// [`IssuerPolicy::keycloak`].
    Keycloak {
        /// The realm's URL.
        realm_url: String,
        /// The client whose roles are read.
        client_id: String,
    },
    /// [`IssuerPolicy::auth0`].
    Auth0 {
        /// The tenant's domain.
        domain: String,
        /// The API identifier (the audience).
        api_identifier: String,
    },
    /// [`IssuerPolicy::cognito`].
    Cognito {
        /// The AWS region.
        region: String,
        /// The user pool id.
        user_pool_id: String,
        /// The app client ids accepted.
        client_ids: Vec<String>,
    },
    /// [`IssuerPolicy::entra_id`].
    EntraId {
        /// The tenant id.
        tenant_id: String,
        /// The application (client) id.
        client_id: String,
    },
    /// [`IssuerPolicy::okta`].
    Okta {
        /// The authorization server's issuer.
        issuer: String,
        /// The audience.
        audience: String,
    },
    /// [`IssuerPolicy::google`].
    Google {
        /// The OAuth client id.
        client_id: String,
    },
    /// [`IssuerPolicy::firebase`].
    Firebase {
        /// The Firebase project id.
        project_id: String,
    },
}

impl<C> crate::JwtAuthLayer<C> {
    /// A builder configured as `config` says; chain more options, then
    /// [`build`](JwtAuthBuilder::build). Mistakes the builder finds (a weak secret, a bad
    /// URL, two issuers named alike) are reported by `build()`, as in code.
    ///
    /// # Errors
    /// [`ConfigError::MissingSecret`] if a secret's environment variable (an HMAC secret,
    /// an introspection client's secret) is unset or not UTF-8; [`ConfigError::InvalidConfig`] if a key or an issuer is described with
    /// none or several of its forms, a file cannot be read, or an option needs a feature
    /// that is off.
    pub fn from_config(config: &AuthConfig) -> Result<JwtAuthBuilder<C>, ConfigError> {
        Self::from_config_with_secrets(config, |name| std::env::var(name).ok())
    }

    /// [`from_config`](Self::from_config), with the secrets looked up by `secrets` (a
    /// secrets manager, a mounted file, a test's map) instead of the environment: it is
    /// given the names `hmac_secret_env` and `client_secret_env` say.
    ///
    /// # Errors
    /// As [`from_config`](Self::from_config).
    pub fn from_config_with_secrets(
        config: &AuthConfig,
        secrets: impl Fn(&str) -> Option<String>,
    ) -> Result<JwtAuthBuilder<C>, ConfigError> {
        let secrets: &dyn Fn(&str) -> Option<String> = &secrets;
        let mut builder = JwtAuthBuilder::<C>::new();
        for key in &config.keys {
            builder = add_key(builder, key, secrets)?;
        }
        if !config.algorithms.is_empty() {
            builder = builder.algorithms(config.algorithms.iter().copied());
        }
        if !config.issuers.is_empty() {
            builder = builder.issuers(config.issuers.iter().cloned());
        }
        if !config.audiences.is_empty() {
            builder = builder.audiences(config.audiences.iter().cloned());
        }
        if config.accept_any_audience {
            builder = builder.accept_any_audience();
        }
        if let Some(seconds) = config.leeway_seconds {
            builder = builder.leeway(Duration::from_secs(seconds));
        }
        if let Some(claims) = &config.required_claims {
            builder = builder.required_claims(claims.iter().copied());
        }
        if let Some(typ) = &config.required_typ {
            builder = builder.required_typ(typ.clone());
        }
        if let Some(seconds) = config.max_token_age_seconds {
            builder = builder.max_token_age(Duration::from_secs(seconds));
        }
        if let Some(seconds) = config.max_token_lifetime_seconds {
            builder = builder.max_token_lifetime(Duration::from_secs(seconds));
        }
        if let Some(sources) = &config.token_sources {
            let sources = sources.iter().map(source).collect::<Result<Vec<_>, _>>()?;
            builder = builder.token_sources(sources);
        }
        builder = builder
            .optional(config.optional)
            .allow_cors_preflight(config.allow_cors_preflight);
        if let Some(size) = config.max_token_size {
            builder = builder.max_token_size(size);
        }
        if let Some(realm) = &config.realm {
            builder = builder.realm(realm.clone());
        }
        if let Some(capacity) = config.token_cache {
            builder = builder.token_cache(capacity);
        }
        if let Some(paths) = &config.scopes_from {
            builder = builder.scopes_from(paths.iter().cloned());
        }
        if let Some(paths) = &config.roles_from {
            builder = builder.roles_from(paths.iter().cloned());
        }
        if let Some(client_id) = &config.client_id {
            builder = builder.client_id(client_id.clone());
        }
        for (path, values) in &config.require_claims {
            builder = builder.require_claim(path.clone(), values.iter().cloned());
        }
        if let Some(on_error) = config.on_revocation_store_error {
            builder = builder.on_revocation_store_error(match on_error {
                OnStoreErrorConfig::Reject => OnStoreError::Reject,
                OnStoreErrorConfig::Allow => OnStoreError::Allow,
            });
        }
        if let Some(jwks) = &config.jwks {
            builder = jwks_options(builder, jwks)?;
        }
        for issuer in &config.issuer_policies {
            builder = builder.issuer_policy(issuer_policy(issuer, secrets)?);
        }
        if let Some(introspection) = &config.introspection {
            builder = introspection_options(builder, introspection, secrets)?;
        }
        Ok(builder)
    }
}

fn invalid(why: impl Into<String>) -> ConfigError {
    ConfigError::InvalidConfig(why.into())
}

fn remote_keys_in_a_policy() -> ConfigError {
    invalid(
        "an issuer policy's `keys` are PEM keys and secrets: \
         use its `jwks_url` or `oidc` for remote keys",
    )
}

/// The lookup of secrets by name: the environment, unless the caller gives another.
type Secrets<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The secret named `name`.
fn secret(name: &str, secrets: Secrets<'_>) -> Result<String, ConfigError> {
    secrets(name).ok_or_else(|| ConfigError::MissingSecret {
        variable: name.to_owned(),
    })
}

fn read(path: &PathBuf) -> Result<String, ConfigError> {
    std::fs::read_to_string(path)
        .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))
}

/// A static key: its bytes and algorithm, for a builder or an issuer policy.
enum Static {
    Secret(String, Algorithm),
    Pem(String, Algorithm),
    Jwks(String),
}

/// Which of a [`KeyConfig`]'s forms is given: exactly one.
fn key_form<'a>(key: &'a KeyConfig, secrets: Secrets<'_>) -> Result<KeyForm<'a>, ConfigError> {
    let mut forms = Vec::new();
    if let Some(name) = &key.hmac_secret_env {
        forms.push(KeyForm::Static(Static::Secret(
            secret(name, secrets)?,
            algorithm(key, "hmac_secret_env")?,
        )));
    }
    if let Some(pem) = &key.public_key_pem {
        forms.push(KeyForm::Static(Static::Pem(
            pem.clone(),
            algorithm(key, "public_key_pem")?,
        )));
    }
    if let Some(path) = &key.public_key_pem_file {
        forms.push(KeyForm::Static(Static::Pem(
            read(path)?,
            algorithm(key, "public_key_pem_file")?,
        )));
    }
    if let Some(json) = &key.jwks_json {
        forms.push(KeyForm::Static(Static::Jwks(json.clone())));
    }
    if let Some(path) = &key.jwks_file {
        forms.push(KeyForm::Static(Static::Jwks(read(path)?)));
    }
    if let Some(url) = &key.jwks_url {
        forms.push(KeyForm::JwksUrl(url));
    }
    if let Some(issuer) = &key.oidc_issuer {
        forms.push(KeyForm::Oidc(issuer));
    }
    match forms.len() {
        1 => Ok(forms.remove(0)),
        0 => Err(invalid(
            "a key names none of hmac_secret_env, public_key_pem, public_key_pem_file, \
             jwks_json, jwks_file, jwks_url, oidc_issuer",
        )),
        _ => Err(invalid(
            "a key names several of its forms: give one per [[keys]] entry",
        )),
    }
}

#[cfg_attr(not(feature = "jwks"), allow(dead_code))]
enum KeyForm<'a> {
    Static(Static),
    JwksUrl(&'a str),
    Oidc(&'a str),
}

fn algorithm(key: &KeyConfig, form: &str) -> Result<Algorithm, ConfigError> {
    key.algorithm
        .ok_or_else(|| invalid(format!("a key given as {form} needs its `algorithm`")))
}

fn add_key<C>(
    builder: JwtAuthBuilder<C>,
    key: &KeyConfig,
    secrets: Secrets<'_>,
) -> Result<JwtAuthBuilder<C>, ConfigError> {
    Ok(match key_form(key, secrets)? {
        KeyForm::Static(Static::Jwks(json)) => builder.jwks_json(&json),
        KeyForm::Static(form) => {
            let (decoding, alg) = static_key(form)?;
            match &key.kid {
                Some(kid) => builder.key_with_kid(kid.clone(), decoding, alg),
                None => builder.key(decoding, alg),
            }
        }
        #[cfg(feature = "jwks")]
        KeyForm::JwksUrl(url) => builder.jwks_url(url),
        #[cfg(feature = "jwks")]
        KeyForm::Oidc(issuer) => builder.oidc_issuer(issuer),
        #[cfg(not(feature = "jwks"))]
        KeyForm::JwksUrl(_) | KeyForm::Oidc(_) => {
            return Err(invalid(
                "remote keys (jwks_url, oidc_issuer) need feature `jwks`",
            ));
        }
    })
}

/// A secret or a PEM key, decoded; the builder checks the rest (family, strength) as for
/// any key.
fn static_key(form: Static) -> Result<(DecodingKey, Algorithm), ConfigError> {
    match form {
        Static::Secret(secret, alg) => DecodingKey::from_secret(secret.as_bytes())
            .map(|key| (key, alg))
            .map_err(|e| ConfigError::unreadable_key("the HMAC secret cannot be used", e)),
        Static::Pem(pem, alg) => Ok((crate::builder::pem_key(pem.as_bytes(), alg)?, alg)),
        Static::Jwks(_) => Err(remote_keys_in_a_policy()),
    }
}

fn source(source: &SourceConfig) -> Result<TokenSource, ConfigError> {
    Ok(match source {
        SourceConfig::Bearer {} => TokenSource::Bearer,
        SourceConfig::Cookie(name) => TokenSource::cookie(name.clone()),
        SourceConfig::Query(name) => TokenSource::query(name.clone()),
        SourceConfig::Header(name) => TokenSource::header(
            HeaderName::try_from(name.as_str())
                .map_err(|_| ConfigError::InvalidTokenSource(format!("header {name:?}")))?,
        ),
    })
}

#[cfg(feature = "jwks")]
fn jwks_options<C>(
    builder: JwtAuthBuilder<C>,
    config: &JwksConfig,
) -> Result<JwtAuthBuilder<C>, ConfigError> {
    let mut options = crate::jwks::JwksOptions::default();
    if let Some(seconds) = config.refresh_interval_seconds {
        options.refresh_interval = Duration::from_secs(seconds);
    }
    if let Some(seconds) = config.unknown_key_cooldown_seconds {
        options.unknown_key_cooldown = Duration::from_secs(seconds);
    }
    if let Some(seconds) = config.timeout_seconds {
        options.timeout = Duration::from_secs(seconds);
    }
    if let Some(seconds) = config.max_staleness_seconds {
        options.max_staleness = (seconds > 0).then(|| Duration::from_secs(seconds));
    }
    if let Some(allow) = config.allow_http {
        options.allow_http = allow;
    }
    Ok(builder.jwks_options(options))
}

#[cfg(not(feature = "jwks"))]
fn jwks_options<C>(_: JwtAuthBuilder<C>, _: &JwksConfig) -> Result<JwtAuthBuilder<C>, ConfigError> {
    Err(invalid("[jwks] options need feature `jwks`"))
}

#[cfg(feature = "jwks")]
fn introspection_options<C>(
    builder: JwtAuthBuilder<C>,
    config: &IntrospectionConfig,
    secrets: Secrets<'_>,
) -> Result<JwtAuthBuilder<C>, ConfigError> {
    use crate::introspection::{ClientAuth, Introspection};
    let id = config.client_id.clone();
    if id.is_empty() {
        return Err(invalid("[introspection] needs the layer's `client_id`"));
    }
    let client_secret = || match &config.client_secret_env {
        Some(name) => secret(name, secrets),
        None => Err(invalid(
            "[introspection] with a client secret needs `client_secret_env`",
        )),
    };
    let auth = match config
        .client_auth
        .unwrap_or(ClientAuthConfig::ClientSecretBasic)
    {
        ClientAuthConfig::ClientSecretBasic => ClientAuth::basic(id, client_secret()?),
        ClientAuthConfig::ClientSecretPost => ClientAuth::post(id, client_secret()?),
        ClientAuthConfig::PrivateKeyJwt => {
            let (Some(path), Some(algorithm)) = (&config.private_key_pem_file, config.algorithm)
            else {
                return Err(invalid(
                    "[introspection] with private_key_jwt needs `private_key_pem_file` and \
                     `algorithm`",
                ));
            };
            let pem = read(path)?;
            let key = match algorithm.family() {
                jsonwebtoken::AlgorithmFamily::Rsa => {
                    crate::EncodingKey::from_rsa_pem(pem.as_bytes())
                }
                jsonwebtoken::AlgorithmFamily::Ec => {
                    crate::EncodingKey::from_ec_pem(pem.as_bytes())
                }
                jsonwebtoken::AlgorithmFamily::Ed => {
                    crate::EncodingKey::from_ed_pem(pem.as_bytes())
                }
                jsonwebtoken::AlgorithmFamily::Hmac => {
                    return Err(ConfigError::KeyFamilyMismatch { algorithm });
                }
            }
            .map_err(|e| invalid(format!("{}: {e}", path.display())))?;
            let auth = ClientAuth::private_key_jwt(id, key, algorithm);
            match &config.key_id {
                Some(kid) => auth.key_id(kid.clone()),
                None => auth,
            }
        }
    };
    let mut introspection = match (&config.endpoint, &config.issuer) {
        (Some(url), None) => Introspection::endpoint(url.clone(), auth),
        (None, Some(issuer)) => Introspection::discover(issuer.clone(), auth),
        _ => {
            return Err(invalid(
                "[introspection] takes its endpoint from exactly one of `endpoint`, `issuer`",
            ));
        }
    };
    if let Some(seconds) = config.cache_for_seconds {
        introspection = introspection.cache_for(Duration::from_secs(seconds));
    }
    if let Some(capacity) = config.cache_capacity {
        introspection = introspection.cache_capacity(capacity);
    }
    if let Some(seconds) = config.timeout_seconds {
        introspection = introspection.timeout(Duration::from_secs(seconds));
    }
    if let Some(calls) = config.max_concurrent {
        introspection = introspection.max_concurrent(calls);
    }
    if let Some(hint) = config.token_type_hint {
        introspection = introspection.token_type_hint(hint);
    }
    if config.every_token {
        introspection = introspection.every_token();
    }
    if config.jwt_answers {
        introspection = introspection.jwt_answers();
    }
    Ok(builder.introspection(introspection.allow_http(config.allow_http)))
}

#[cfg(not(feature = "jwks"))]
fn introspection_options<C>(
    _: JwtAuthBuilder<C>,
    _: &IntrospectionConfig,
    _: Secrets<'_>,
) -> Result<JwtAuthBuilder<C>, ConfigError> {
    Err(invalid("[introspection] needs feature `jwks`"))
}

fn issuer_policy(config: &IssuerConfig, secrets: Secrets<'_>) -> Result<IssuerPolicy, ConfigError> {
    let given = [
        config.preset.is_some(),
        config.oidc.is_some(),
        config.jwks_url.is_some(),
        !config.keys.is_empty(),
    ];
    if given.iter().filter(|given| **given).count() != 1 {
        return Err(invalid(
            "an issuer policy takes its keys from exactly one of preset, oidc, jwks_url, keys",
        ));
    }
    let mut policy = if let Some(preset) = &config.preset {
        preset_policy(preset)?
    } else if config.oidc.is_some() || config.jwks_url.is_some() {
        remote_policy(config)?
    } else {
        let mut policy = IssuerPolicy::with_keys(policy_issuer(config)?);
        for key in &config.keys {
            let KeyForm::Static(form) = key_form(key, secrets)? else {
                return Err(remote_keys_in_a_policy());
            };
            let (decoding, alg) = static_key(form)?;
            policy = policy.key(decoding, alg);
        }
        policy
    };
    for name in &config.also_named {
        policy = policy.also_named(name.clone());
    }
    if !config.algorithms.is_empty() {
        policy = policy.algorithms(config.algorithms.iter().copied());
    }
    if !config.audiences.is_empty() {
        policy = policy.audiences(config.audiences.iter().cloned());
    }
    if let Some(seconds) = config.leeway_seconds {
        policy = policy.leeway(Duration::from_secs(seconds));
    }
    if let Some(claims) = &config.required_claims {
        policy = policy.required_claims(claims.iter().copied());
    }
    if let Some(paths) = &config.scopes_from {
        policy = policy.scopes_from(paths.iter().cloned());
    }
    if let Some(paths) = &config.roles_from {
        policy = policy.roles_from(paths.iter().cloned());
    }
    if let Some(client_id) = &config.client_id {
        policy = policy.client_id(client_id.clone());
    }
    for (path, values) in &config.require_claims {
        policy = policy.require_claim(path.clone(), values.iter().cloned());
    }
    Ok(policy)
}

/// The `iss` of a policy whose keys are not found by discovery.
fn policy_issuer(config: &IssuerConfig) -> Result<String, ConfigError> {
    (config.issuer.clone())
        .ok_or_else(|| invalid("an issuer policy with `jwks_url` or `keys` needs its `issuer`"))
}

#[cfg(feature = "jwks")]
fn remote_policy(config: &IssuerConfig) -> Result<IssuerPolicy, ConfigError> {
    match (&config.oidc, &config.jwks_url) {
        (Some(issuer), _) => Ok(IssuerPolicy::oidc(issuer.clone())),
        (None, Some(url)) => Ok(IssuerPolicy::jwks(policy_issuer(config)?, url.clone())),
        (None, None) => Err(invalid(
            "an issuer policy names neither `oidc` nor `jwks_url`",
        )),
    }
}

#[cfg(not(feature = "jwks"))]
fn remote_policy(_: &IssuerConfig) -> Result<IssuerPolicy, ConfigError> {
    Err(invalid("remote keys (oidc, jwks_url) need feature `jwks`"))
}

#[cfg(feature = "jwks")]
fn preset_policy(preset: &PresetConfig) -> Result<IssuerPolicy, ConfigError> {
    Ok(match preset {
        PresetConfig::Keycloak {
            realm_url,
            client_id,
        } => IssuerPolicy::keycloak(realm_url.clone(), client_id.clone()),
        PresetConfig::Auth0 {
            domain,
            api_identifier,
        } => IssuerPolicy::auth0(domain, api_identifier.clone()),
        PresetConfig::Cognito {
            region,
            user_pool_id,
            client_ids,
        } => IssuerPolicy::cognito(region, user_pool_id, client_ids.iter().cloned()),
        PresetConfig::EntraId {
            tenant_id,
            client_id,
        } => IssuerPolicy::entra_id(tenant_id, client_id),
        PresetConfig::Okta { issuer, audience } => {
            IssuerPolicy::okta(issuer.clone(), audience.clone())
        }
        PresetConfig::Google { client_id } => IssuerPolicy::google(client_id.clone()),
        PresetConfig::Firebase { project_id } => IssuerPolicy::firebase(project_id),
    })
}

#[cfg(not(feature = "jwks"))]
fn preset_policy(_: &PresetConfig) -> Result<IssuerPolicy, ConfigError> {
    Err(invalid("provider presets need feature `jwks`"))
}
