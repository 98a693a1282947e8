// An OpenID provider for the tests: panva's `oidc-provider` (OpenID Certified), its
// development keys, one confidential client allowed the client credentials grant, and one
// resource server (`urn:notes`) whose access tokens are JWTs (RFC 9068). PORT chooses the
// loopback port; "listening <issuer>" is printed once it serves.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const resources = {
  'urn:notes': { scope: 'read write', audience: 'urn:notes' },
  'urn:other': { scope: 'read', audience: 'urn:other' },
};
const provider = new Provider(issuer, {
  clients: [{
    client_id: 'notes-client',
    client_secret: 'notes-client-secret-of-32-bytes!!',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
  }],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:notes',
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator) => {
        const known = resources[indicator];
        if (!known) throw new Error(`unknown resource ${indicator}`);
        return { ...known, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
      },
    },
  },
});
provider.listen(port, '127.0.0.1', () => console.log(`listening ${issuer}`));
