// oidc-provider ships no type declarations. These cover only what the development IdP uses
// (dev-idp/); @types/oidc-provider would replace this file if it is ever added as a dependency.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface ProviderContext {
    status: number;
    body: unknown;
    type: string;
    oidc: {
      route?: string;
      params?: Record<string, unknown>;
      client?: { clientId: string; clientName?: string };
    };
  }

  export interface Account {
    accountId: string;
    claims(use: string, scope: string, claims: unknown, rejected: string[]): Promise<Record<string, unknown>> | Record<string, unknown>;
  }

  export interface AdapterPayload {
    [key: string]: unknown;
    uid?: string;
    userCode?: string;
    grantId?: string;
    consumed?: number;
  }

  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export interface ClientMetadata {
    client_id: string;
    client_secret?: string;
    client_name?: string;
    grant_types?: string[];
    response_types?: string[];
    redirect_uris?: string[];
    token_endpoint_auth_method?: string;
  }

  export interface ResourceServerInfo {
    scope: string;
    audience?: string;
    accessTokenTTL?: number;
    accessTokenFormat?: 'opaque' | 'jwt';
    jwt?: { sign?: { alg?: string } };
  }

  export interface IssuedToken {
    kind: string;
    clientId?: string;
  }

  export interface JWKWithPrivate {
    [key: string]: unknown;
    kty: string;
    kid?: string;
  }

  type Ttl = number | ((ctx: ProviderContext, token: unknown, client: unknown) => number);

  export interface Configuration {
    adapter?: (model: string) => Adapter;
    clients?: ClientMetadata[];
    findAccount?: (ctx: ProviderContext, sub: string, token?: unknown) => Promise<Account | undefined>;
    claims?: Record<string, string[]>;
    scopes?: string[];
    conformIdTokenClaims?: boolean;
    cookies?: { keys?: string[] };
    jwks?: { keys: JWKWithPrivate[] };
    clientBasedCORS?: (ctx: ProviderContext, origin: string, client: unknown) => boolean;
    extraTokenClaims?: (ctx: ProviderContext, token: IssuedToken) => Promise<Record<string, unknown> | undefined>;
    renderError?: (ctx: ProviderContext, out: Record<string, string>, error: Error) => Promise<void>;
    interactions?: { url?: (ctx: ProviderContext, interaction: Interaction) => Promise<string> | string };
    ttl?: Record<string, Ttl>;
    features?: {
      devInteractions?: { enabled: boolean };
      clientCredentials?: { enabled: boolean };
      introspection?: { enabled: boolean };
      revocation?: { enabled: boolean };
      rpInitiatedLogout?: { enabled: boolean };
      userinfo?: { enabled: boolean };
      deviceFlow?: {
        enabled: boolean;
        charset?: 'base-20' | 'digits';
        mask?: string;
        userCodeInputSource?: (ctx: ProviderContext, form: string, out?: Record<string, string>, err?: Error & { userCode?: string }) => Promise<void>;
        userCodeConfirmSource?: (ctx: ProviderContext, form: string, client: { clientId: string; clientName?: string }, deviceInfo: unknown, userCode: string) => Promise<void>;
        successSource?: (ctx: ProviderContext) => Promise<void>;
      };
      resourceIndicators?: {
        enabled: boolean;
        defaultResource?: (ctx: ProviderContext, client: unknown, oneOf?: string[]) => Promise<string | string[] | undefined>;
        useGrantedResource?: (ctx: ProviderContext, model: unknown) => Promise<boolean>;
        getResourceServerInfo?: (ctx: ProviderContext, resourceIndicator: string, client: unknown) => Promise<ResourceServerInfo>;
      };
    };
  }

  export interface Interaction {
    uid: string;
    prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
    params: Record<string, unknown>;
    session?: { accountId?: string; uid?: string };
    grantId?: string;
  }

  export interface Grant {
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  export interface InteractionResult {
    login?: { accountId: string; remember?: boolean };
    consent?: { grantId?: string };
    error?: string;
    error_description?: string;
  }

  export class Provider {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    readonly Grant: {
      new (props: { accountId: string; clientId: string }): Grant;
      find(id: string): Promise<Grant | undefined>;
    };
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    on(event: string, listener: (...args: any[]) => void): this;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionFinished(req: IncomingMessage, res: ServerResponse, result: InteractionResult, options?: { mergeWithLastSubmission?: boolean }): Promise<void>;
  }

  export const errors: {
    InvalidTarget: new (description?: string) => Error;
    SessionNotFound: new (description?: string) => Error;
  };

  export default Provider;
}
