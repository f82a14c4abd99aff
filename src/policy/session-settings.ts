// Settings the gateway forces on a session after connecting: per role (statement_timeout, search_path,
// custom ones for row-level security filled from identity traits), the parser's own (see
// protected-settings.ts) and, for agents and bots, timeouts that keep an idle session from holding locks.
// A statement that tries to change any of them is refused.
import { z } from 'zod';
import { PolicyError, PolicyErrorCode } from './errors.js';
import { PARSER_SETTINGS } from './protected-settings.js';
import type { Role } from './roles.js';

const TEMPLATE = /\{\{\s*([^{}]*?)\s*\}\}/g;
const TRAIT_REF = /^traits\.([A-Za-z0-9_.-]+)$/;

const settingName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)*$/, 'a setting name like statement_timeout or app.region')
  .transform((s) => s.toLowerCase());

const settingValue = z
  .union([z.string(), z.number(), z.boolean()])
  .transform(String)
  .superRefine((value, ctx) => {
    for (const m of value.matchAll(TEMPLATE)) {
      if (!TRAIT_REF.test(m[1]!)) ctx.addIssue({ code: 'custom', message: `"${m[0]}" is not a template this config knows; write {{traits.NAME}}` });
    }
  });

export const sessionSchema = z
  .object({
    settings: z.record(z.string(), settingValue).default({}),
  })
  .strict()
  .transform((session, ctx) => {
    const settings: Record<string, string> = {};
    for (const [raw, value] of Object.entries(session.settings)) {
      const parsed = settingName.safeParse(raw);
      if (!parsed.success) {
        ctx.addIssue({ code: 'custom', path: ['settings', raw], message: `"${raw}" is not a setting name like statement_timeout or app.region` });
        continue;
      }
      const name = parsed.data;
      if (name in settings) ctx.addIssue({ code: 'custom', path: ['settings', raw], message: `"${name}" is set twice` });
      const fixed = PARSER_SETTINGS[name];
      if (fixed !== undefined && value.toLowerCase().replace(/-/g, '') !== fixed.toLowerCase()) {
        ctx.addIssue({ code: 'custom', path: ['settings', raw], message: `${name} is always ${fixed} through the gateway` });
      }
      settings[name] = value;
    }
    return { settings };
  });

/**
 * What agents and bots get unless one of their roles sets the name: an agent that opens a transaction, locks
 * rows and goes quiet (waiting on a model, or gone) would block everyone else indefinitely. PostgreSQL ends such
 * a session after the idle timeout, and a statement of the agent waits at most lock_timeout for a lock.
 */
export const AGENT_SESSION_DEFAULTS: Readonly<Record<string, string>> = Object.freeze({
  idle_in_transaction_session_timeout: '60s',
  lock_timeout: '10s',
});

/** Whether the identity's kind gets AGENT_SESSION_DEFAULTS: any kind but 'human' (an unknown kind is an agent). */
function getsAgentDefaults(kind: string | undefined): boolean {
  return kind !== undefined && kind !== 'human';
}

export type SessionConfig = z.infer<typeof sessionSchema>;

export type Traits = Readonly<Record<string, string | readonly string[]>>;

/**
 * The settings to force on a session: the parser's own first, then each role's in the order the identity
 * lists its roles; the first role that sets a name wins. Templates take trait values (several values are
 * joined with commas). A template naming a trait the identity lacks throws: the session must be refused
 * rather than run without the setting a row-level security policy relies on. `kind` is the identity's kind
 * (the gateway always passes it): agents and bots get AGENT_SESSION_DEFAULTS for the names no role sets.
 */
export function sessionSettingsFor(roles: Readonly<Record<string, Role>>, roleNames: readonly string[], traits: Traits, kind?: string): Record<string, string> {
  const out: Record<string, string> = { ...PARSER_SETTINGS };
  for (const roleName of roleNames) {
    const settings = roles[roleName]?.session.settings ?? {};
    for (const [name, template] of Object.entries(settings)) {
      if (name in out) continue;
      out[name] = fillTemplate(template, traits, roleName, name);
    }
  }
  if (getsAgentDefaults(kind)) for (const [name, value] of Object.entries(AGENT_SESSION_DEFAULTS)) out[name] ??= value;
  return out;
}

/** Names of the settings forced on the identity's sessions (its roles', and the agent defaults for `kind`), lower-cased. */
export function forcedSettingNames(roles: Readonly<Record<string, Role>>, roleNames: readonly string[], kind?: string): string[] {
  const names = new Set<string>();
  for (const r of roleNames) for (const name of Object.keys(roles[r]?.session.settings ?? {})) names.add(name);
  if (getsAgentDefaults(kind)) for (const name of Object.keys(AGENT_SESSION_DEFAULTS)) names.add(name);
  return [...names];
}

function fillTemplate(template: string, traits: Traits, role: string, setting: string): string {
  return template.replace(TEMPLATE, (whole, ref: string) => {
    const trait = TRAIT_REF.exec(ref)?.[1];
    if (trait === undefined) throw new PolicyError(PolicyErrorCode.TEMPLATE, `role "${role}" sets ${setting} from "${whole}", which is not a {{traits.NAME}} template`);
    const raw = Object.hasOwn(traits, trait) ? traits[trait] : undefined;
    const values = raw === undefined ? [] : typeof raw === 'string' ? [raw] : [...raw];
    if (values.length === 0) {
      throw new PolicyError(
        PolicyErrorCode.TRAIT_MISSING,
        `role "${role}" sets ${setting} from the trait "${trait}", which your identity does not have; the session is refused. Ask an administrator to add the claim to your identity.`,
      );
    }
    const value = values.join(',');
    if (value.includes('\0')) throw new PolicyError(PolicyErrorCode.TRAIT_INVALID, `the trait "${trait}" holds a NUL character, which a setting cannot hold; the session is refused`);
    return value;
  });
}
