// An OpenID provider for the tests: panva's `oidc-provider` (OpenID Certified), its
// development keys, one confidential client allowed the client credentials grant, two
// resource servers (`urn:notes`, `urn:other`) whose access tokens are JWTs (RFC 9068) and
// one (`urn:reference`) whose access tokens are opaque, for introspection (RFC 7662; the
// answers also as signed JWTs, RFC 9701, when asked). The resource server itself is a
// client three times over, one per way of authenticating to the introspection endpoint:
// `client_secret_basic`, `client_secret_post`, and `private_key_jwt` with the public half of
// the EC key at CLIENT_KEY. PORT chooses the loopback port; "listening <issuer>" is printed
// once it serves.
import Provider from 'oidc-provider';
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const jwt = { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
const resources = {
  'urn:notes': { scope: 'read write', audience: 'urn:notes', ...jwt },
  'urn:other': { scope: 'read', audience: 'urn:other', ...jwt },
  'urn:reference': { scope: 'read write', audience: 'urn:reference', accessTokenFormat: 'opaque' },
};
const resourceServerKey = createPublicKey(readFileSync(process.env.CLIENT_KEY)).export({ format: 'jwk' });
const noGrants = { grant_types: [], redirect_uris: [], response_types: [] };
const provider = new Provider(issuer, {
  clients: [{
    client_id: 'notes-client',
    client_secret: 'notes-client-secret-of-32-bytes!!',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
  }, {
    client_id: 'notes-api-basic',
    client_secret: 'notes-api-basic-secret-of-32-bytes!',
    ...noGrants,
  }, {
    client_id: 'notes-api-post',
    client_secret: 'notes-api-post-secret-of-32-bytes!!',
    token_endpoint_auth_method: 'client_secret_post',
    ...noGrants,
  }, {
    client_id: 'notes-api-jwt',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    jwks: { keys: [resourceServerKey] },
    ...noGrants,
  }],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    jwtIntrospection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:notes',
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator) => {
        const known = resources[indicator];
        if (!known) throw new Error(`unknown resource ${indicator}`);
        return known;
      },
    },
  },
});
provider.listen(port, '127.0.0.1', () => console.log(`listening ${issuer}`));
