//! Presets for the identity providers most APIs trust (feature `jwks`): one call sets where
//! the keys come from, the issuer and audience forms, where scopes and roles are, and the
//! checks the provider's documentation asks a resource server to make. Each is an
//! [`IssuerPolicy`] made of public calls (chain more after it, or read it to see what it
//! does), and a builder method that trusts it: two presets on one layer are two issuers,
//! each held to its own policy.

use crate::claims::Claim;
use crate::tenant::IssuerPolicy;
use crate::{Algorithm, AuthError, JwtAuthBuilder};

impl IssuerPolicy {
    /// Keycloak: the realm's keys and issuer from its discovery document (`realm_url`, such
    /// as `https://sso.example.com/realms/acme`); `client_id` must be in `aud` (add an
    /// "Audience" mapper to the client scope); roles from `realm_access.roles` and
    /// `resource_access.<client_id>.roles`; scopes from `scope`.
    ///
    /// Keycloak's ID tokens also name the client in `aud`; its access tokens alone carry
    /// `"typ": "Bearer"` (ID tokens `"ID"`, refresh tokens `"Refresh"`), so any other `typ`
    /// is refused as the wrong token type: an ID token leaked through a logout URL's
    /// `id_token_hint` is not a bearer token here.
    pub fn keycloak(realm_url: impl Into<String>, client_id: impl Into<String>) -> Self {
        let client_id = client_id.into();
        IssuerPolicy::oidc(realm_url)
            .audience(client_id.clone())
            .roles_from(["/realm_access/roles", "/resource_access/{client_id}/roles"])
            .client_id(client_id)
            .require_claim_or("/typ", ["Bearer"], AuthError::InvalidType)
    }

    /// Auth0: the tenant's keys from `https://{domain}/` (its discovery document), the
    /// API's identifier in `aud`, scopes from `scope` and, with RBAC's "Add Permissions in
    /// the Access Token", from `permissions`.
    ///
    /// Auth0's ID tokens name the application's client id in `aud`, never an API
    /// identifier, so they are refused here as long as `api_identifier` is the API's.
    pub fn auth0(domain: &str, api_identifier: impl Into<String>) -> Self {
        IssuerPolicy::oidc(format!("https://{domain}/"))
            .audience(api_identifier)
            .scopes_from(["/scope", "/permissions"])
    }

    /// Amazon Cognito user pool access tokens: the pool's keys and issuer
    /// (`https://cognito-idp.{region}.amazonaws.com/{user_pool_id}`), `token_use` must be
    /// `access` (an ID token is refused as the wrong type) and `client_id` one of the app
    /// clients (else refused as the wrong audience: Cognito access tokens have no `aud`);
    /// groups from `cognito:groups` as roles.
    pub fn cognito<I: Into<String>>(
        region: &str,
        user_pool_id: &str,
        app_client_ids: impl IntoIterator<Item = I>,
    ) -> Self {
        IssuerPolicy::oidc(format!(
            "https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"
        ))
        .roles_from(["/cognito:groups"])
        .require_claim_or("/token_use", ["access"], AuthError::InvalidType)
        .require_claim_or("/client_id", app_client_ids, AuthError::InvalidAudience)
    }

    /// Microsoft Entra ID, one tenant: the tenant's keys (published without `alg`: RS256),
    /// tokens of both endpoints — v2.0 (`iss` `https://login.microsoftonline.com/{tenant}/v2.0`,
    /// `aud` the client id) and v1.0 (`iss` `https://sts.windows.net/{tenant}/`, `aud` the
    /// App ID URI `api://{client_id}`) — with `ver` `1.0` or `2.0` and `tid` the tenant;
    /// scopes from `scp`, app roles from `roles` (the standard claims).
    ///
    /// An ID token for the same app registration has the same `aud`, `iss`, `ver` and `tid`;
    /// only access tokens name the calling client, in `azp` (v2.0) or `appid` (v1.0)
    /// (Microsoft identity platform, "Access token claims reference"), so a token with
    /// neither is refused as the wrong token type.
    pub fn entra_id(tenant_id: &str, client_id: &str) -> Self {
        IssuerPolicy::jwks(
            format!("https://login.microsoftonline.com/{tenant_id}/v2.0"),
            format!("https://login.microsoftonline.com/{tenant_id}/discovery/v2.0/keys"),
        )
        .also_named(format!("https://sts.windows.net/{tenant_id}/"))
        .algorithms([Algorithm::RS256])
        .audiences([client_id.to_owned(), format!("api://{client_id}")])
        .require_claim_or("/ver", ["1.0", "2.0"], AuthError::InvalidClaims)
        .require_claim_or("/tid", [tenant_id], AuthError::InvalidIssuer)
        .require_one_of(&["/azp", "/appid"], AuthError::InvalidType)
    }

    /// Okta: the authorization server's keys and issuer from its discovery document
    /// (`issuer`, such as `https://acme.okta.com/oauth2/default`), its audience (`api://default`
    /// by default), scopes from `scp`, groups from `groups` (once a groups claim is
    /// configured) as roles.
    ///
    /// Okta's ID tokens name the client id in `aud`; give the authorization server's
    /// audience here, never a client id, and they are refused.
    pub fn okta(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        IssuerPolicy::oidc(issuer)
            .audience(audience)
            .roles_from(["/groups"])
    }

    /// Google ID tokens ("Sign in with Google"): Google's keys, `iss` in either of its two
    /// forms (`https://accounts.google.com` and `accounts.google.com`), `aud` your OAuth
    /// client id. Meant for ID tokens: Google's own access tokens are opaque, and its
    /// documentation has a backend verify the ID token the client sends.
    pub fn google(client_id: impl Into<String>) -> Self {
        IssuerPolicy::jwks(
            "https://accounts.google.com",
            "https://www.googleapis.com/oauth2/v3/certs",
        )
        .also_named("accounts.google.com")
        .algorithms([Algorithm::RS256])
        .audience(client_id)
    }

    /// Firebase Authentication ID tokens: the securetoken service's keys, `iss`
    /// `https://securetoken.google.com/{project_id}`, `aud` the project id, and a `sub`
    /// (Firebase docs, "Verify ID tokens using a third-party JWT library"). Meant for ID
    /// tokens: they are what Firebase clients send to a backend.
    pub fn firebase(project_id: &str) -> Self {
        IssuerPolicy::jwks(
            format!("https://securetoken.google.com/{project_id}"),
            "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com",
        )
        .algorithms([Algorithm::RS256])
        .audience(project_id)
        .required_claims([Claim::Exp, Claim::Iat, Claim::Sub])
    }
}

/// The presets, as builder calls: each trusts one issuer with its own policy
/// ([`issuer_policy`](JwtAuthBuilder::issuer_policy)), so presets side by side never share
/// audiences, mappings or checks. To add to a preset's policy, build it with
/// [`IssuerPolicy`]'s constructor of the same name and chain there.
impl<C, R> JwtAuthBuilder<C, R> {
    /// Trusts Keycloak: [`IssuerPolicy::keycloak`].
    pub fn keycloak(self, realm_url: impl Into<String>, client_id: impl Into<String>) -> Self {
        self.issuer_policy(IssuerPolicy::keycloak(realm_url, client_id))
    }

    /// Trusts Auth0: [`IssuerPolicy::auth0`].
    pub fn auth0(self, domain: &str, api_identifier: impl Into<String>) -> Self {
        self.issuer_policy(IssuerPolicy::auth0(domain, api_identifier))
    }

    /// Trusts an Amazon Cognito user pool: [`IssuerPolicy::cognito`].
    pub fn cognito<I: Into<String>>(
        self,
        region: &str,
        user_pool_id: &str,
        app_client_ids: impl IntoIterator<Item = I>,
    ) -> Self {
        self.issuer_policy(IssuerPolicy::cognito(region, user_pool_id, app_client_ids))
    }

    /// Trusts one Microsoft Entra ID tenant: [`IssuerPolicy::entra_id`].
    pub fn entra_id(self, tenant_id: &str, client_id: &str) -> Self {
        self.issuer_policy(IssuerPolicy::entra_id(tenant_id, client_id))
    }

    /// Trusts an Okta authorization server: [`IssuerPolicy::okta`].
    pub fn okta(self, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        self.issuer_policy(IssuerPolicy::okta(issuer, audience))
    }

    /// Trusts Google ID tokens: [`IssuerPolicy::google`].
    pub fn google(self, client_id: impl Into<String>) -> Self {
        self.issuer_policy(IssuerPolicy::google(client_id))
    }

    /// Trusts Firebase Authentication ID tokens: [`IssuerPolicy::firebase`].
    pub fn firebase(self, project_id: &str) -> Self {
        self.issuer_policy(IssuerPolicy::firebase(project_id))
    }
}
