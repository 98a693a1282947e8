//! Presets for the identity providers most APIs trust (feature `jwks`): one call sets where
//! the keys come from, the issuer and audience forms, where scopes and roles are, and the
//! checks the provider's documentation asks a resource server to make. Each is a builder
//! method made of public ones: chain more after it, or read it to see what it does.

use crate::{Algorithm, AuthError, Claim, JwtAuthBuilder};

impl<C, R> JwtAuthBuilder<C, R> {
    /// Keycloak: the realm's keys and issuer from its discovery document (`realm_url`, such
    /// as `https://sso.example.com/realms/acme`); `client_id` must be in `aud` (add an
    /// "Audience" mapper to the client scope); roles from `realm_access.roles` and
    /// `resource_access.<client_id>.roles`; scopes from `scope`.
    ///
    /// Keycloak's ID tokens also name the client in `aud`; its access tokens alone carry
    /// `"typ": "Bearer"` (ID tokens `"ID"`, refresh tokens `"Refresh"`), so any other `typ`
    /// is refused as the wrong token type: an ID token leaked through a logout URL's
    /// `id_token_hint` is not a bearer token here.
    pub fn keycloak(self, realm_url: impl Into<String>, client_id: impl Into<String>) -> Self {
        let client_id = client_id.into();
        self.oidc_issuer(realm_url)
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
    pub fn auth0(self, domain: &str, api_identifier: impl Into<String>) -> Self {
        self.oidc_issuer(format!("https://{domain}/"))
            .audience(api_identifier)
            .scopes_from(["/scope", "/permissions"])
    }

    /// Amazon Cognito user pool access tokens: the pool's keys and issuer
    /// (`https://cognito-idp.{region}.amazonaws.com/{user_pool_id}`), `token_use` must be
    /// `access` (an ID token is refused as the wrong type) and `client_id` one of the app
    /// clients (else refused as the wrong audience: Cognito access tokens have no `aud`);
    /// groups from `cognito:groups` as roles.
    pub fn cognito<I: Into<String>>(
        self,
        region: &str,
        user_pool_id: &str,
        app_client_ids: impl IntoIterator<Item = I>,
    ) -> Self {
        self.oidc_issuer(format!(
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
    pub fn entra_id(self, tenant_id: &str, client_id: &str) -> Self {
        self.jwks_url(format!(
            "https://login.microsoftonline.com/{tenant_id}/discovery/v2.0/keys"
        ))
        .algorithms([Algorithm::RS256])
        .issuers([
            format!("https://login.microsoftonline.com/{tenant_id}/v2.0"),
            format!("https://sts.windows.net/{tenant_id}/"),
        ])
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
    pub fn okta(self, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        self.oidc_issuer(issuer)
            .audience(audience)
            .roles_from(["/groups"])
    }

    /// Google ID tokens ("Sign in with Google"): Google's keys, `iss` in either of its two
    /// forms (`https://accounts.google.com` and `accounts.google.com`), `aud` your OAuth
    /// client id. Meant for ID tokens: Google's own access tokens are opaque, and its
    /// documentation has a backend verify the ID token the client sends.
    pub fn google(self, client_id: impl Into<String>) -> Self {
        self.jwks_url("https://www.googleapis.com/oauth2/v3/certs")
            .algorithms([Algorithm::RS256])
            .issuers(["https://accounts.google.com", "accounts.google.com"])
            .audience(client_id)
    }

    /// Firebase Authentication ID tokens: the securetoken service's keys, `iss`
    /// `https://securetoken.google.com/{project_id}`, `aud` the project id, and a `sub`
    /// (Firebase docs, "Verify ID tokens using a third-party JWT library"). Meant for ID
    /// tokens: they are what Firebase clients send to a backend.
    pub fn firebase(self, project_id: &str) -> Self {
        self.jwks_url(
            "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com",
        )
        .algorithms([Algorithm::RS256])
        .issuer(format!("https://securetoken.google.com/{project_id}"))
        .audience(project_id)
        .required_claims([Claim::Exp, Claim::Iat, Claim::Sub])
    }
}
