// oidc-provider configuration of the development IdP. Every default that oidc-provider would
// announce on the console ("you SHOULD change this") is set here, which is also what keeps it quiet.
import type { Configuration, ProviderContext } from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { JWK } from 'jose';
import { clientClaims, userClaims, type Directory } from './directory.js';
import { SIGNING_ALG } from './keys.js';
import { memoryAdapterFactory } from './memory-adapter.js';
import { INTERACTION_PREFIX } from './interactions.js';
import { CONSOLE_CALLBACK_PLACEHOLDER } from './web-sign-in.js';
import { cancelledPage, codeEntryPage, confirmPage, messagePage, successPage } from './pages.js';

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** Seconds. A demo login should not take long; a test should not wait long for an expiry. */
const TTL = { accessToken: 600, deviceCode: 600, idToken: 600, interaction: 600, session: 3600, grant: 3600 } as const;

export interface ProviderConfigInput {
  directory: Directory;
  controlPlaneClient: { id: string; secret: string };
  audience: string;
  signingKey: JWK;
  cookieKeys: string[];
}

export function providerConfiguration(input: ProviderConfigInput): Configuration {
  const { directory, controlPlaneClient, audience } = input;
  return {
    adapter: memoryAdapterFactory(),
    jwks: { keys: [{ ...input.signingKey, kty: input.signingKey.kty ?? 'RSA' }] },
    cookies: { keys: input.cookieKeys },
    clients: [
      {
        client_id: controlPlaneClient.id,
        client_secret: controlPlaneClient.secret,
        client_name: 'agentdb',
        // Device code for the CLI; authorization code (with PKCE) for the web console's sign-in.
        grant_types: [DEVICE_CODE_GRANT, 'authorization_code'],
        response_types: ['code'],
        redirect_uris: [CONSOLE_CALLBACK_PLACEHOLDER],
        token_endpoint_auth_method: 'client_secret_basic',
      },
      ...directory.clients.map((c) => ({
        client_id: c.id,
        client_secret: c.secret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      })),
    ],
    // Traits ride with groups: both are what agentdb authorizes on.
    claims: {
      openid: ['sub'],
      profile: ['preferred_username', 'name'],
      email: ['email', 'email_verified'],
      groups: ['groups', ...directory.traitNames()],
    },
    // By default granted claims go only to userinfo when an access token is issued too; the ID
    // token is meant to carry them here.
    conformIdTokenClaims: false,
    async findAccount(_ctx, sub) {
      const user = directory.user(sub);
      return user ? { accountId: user.name, claims: () => userClaims(user) } : undefined;
    },
    async extraTokenClaims(_ctx, token) {
      const client = token.kind === 'ClientCredentials' && token.clientId ? directory.client(token.clientId) : undefined;
      return client ? clientClaims(client) : undefined;
    },
    interactions: { url: (_ctx, interaction) => `${INTERACTION_PREFIX}${interaction.uid}` },
    clientBasedCORS: () => false,
    renderError: async (ctx, out) => html(ctx, messagePage('Sign-in failed', out['error_description'] ?? out['error'] ?? 'unknown error')),
    ttl: {
      AccessToken: TTL.accessToken,
      ClientCredentials: TTL.accessToken,
      DeviceCode: TTL.deviceCode,
      IdToken: TTL.idToken,
      Interaction: TTL.interaction,
      Session: TTL.session,
      Grant: TTL.grant,
      RefreshToken: TTL.session,
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      clientCredentials: { enabled: true },
      userinfo: { enabled: true },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: async (ctx, form, _out, err) => {
          if (err?.name === 'AbortedError') return html(ctx, cancelledPage(), 200);
          if (!err) return html(ctx, codeEntryPage(form));
          return html(ctx, codeEntryPage(form, codeErrorMessage(err)), Math.max(ctx.status, 400));
        },
        userCodeConfirmSource: async (ctx, form, client, _deviceInfo, userCode) =>
          html(ctx, confirmPage(form, client.clientName ?? client.clientId, userCode)),
        successSource: async (ctx) => html(ctx, successPage()),
      },
      resourceIndicators: {
        enabled: true,
        // Bots asking without a resource still get a token for agentdb rather than an opaque one.
        defaultResource: async (ctx) => (ctx.oidc.params?.['grant_type'] === 'client_credentials' ? audience : undefined),
        useGrantedResource: async () => false,
        async getResourceServerInfo(_ctx, resource) {
          if (resource !== audience) throw new errors.InvalidTarget(`this IdP issues access tokens only for ${audience}`);
          return { scope: 'agentdb', audience, accessTokenFormat: 'jwt', accessTokenTTL: TTL.accessToken, jwt: { sign: { alg: SIGNING_ALG } } };
        },
      },
    },
  };
}

function codeErrorMessage(err: Error): string {
  switch (err.name) {
    case 'NoCodeError':
    case 'NotFoundError':
      return 'That code is not valid. Check the code shown in your terminal and try again.';
    case 'ExpiredError':
      return 'That code has expired. Start the login again from your terminal.';
    case 'AlreadyUsedError':
      return 'That code was already used. Start the login again from your terminal.';
    default:
      return 'The sign-in could not continue. Start the login again from your terminal.';
  }
}

function html(ctx: ProviderContext, body: string, status?: number): void {
  if (status !== undefined) ctx.status = status;
  ctx.type = 'html';
  ctx.body = body;
}
