// `ampule token create|list|revoke`: per-workspace scoped tokens; the secret is shown once.
import { requirePositional, requireString, UsageError, type Command } from '../command';
import { SCOPES, type Scope } from '../../control/types';
import { JSON_OPTION, listOption, printJson, reply, table, wantsJson } from './output';

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000, y: 365 * 86_400_000 };

/** `30d`, `12h`, `90m`, `2w`, `1y` from now, or an ISO 8601 date/time. */
export function parseExpiry(text: string, now = Date.now()): Date {
  const m = /^(\d+)([mhdwy])$/.exec(text);
  if (m) return new Date(now + Number(m[1]) * UNITS[m[2]!]!);
  const t = Date.parse(text);
  if (!Number.isFinite(t)) throw new UsageError(`--expires "${text}" must be a duration like 30d, 12h, 90m, 2w, 1y, or an ISO 8601 date`);
  return new Date(t);
}

export const tokenCreate: Command = {
  path: ['token', 'create'],
  summary: 'Create a token for a workspace. It is printed once and stored only as a hash.',
  usage: `--workspace ID --scope ${SCOPES.join('[,')}${SCOPES.slice(1).map(() => ']').join('')} [--name N] [--expires 30d] [--json]`,
  options: { workspace: { type: 'string' }, scope: { type: 'string', multiple: true }, name: { type: 'string' }, expires: { type: 'string' }, ...JSON_OPTION },
  async run(args, ctx) {
    const workspaceId = requireString(args, 'workspace');
    const scopes = listOption(args, 'scope');
    if (scopes.length === 0) throw new UsageError(`--scope is required: one or more of ${SCOPES.join(', ')}, comma-separated`);
    const name = args.values.name;
    const expires = args.values.expires;
    const created = (await ctx.appliance()).control.createToken(
      workspaceId,
      { scopes: scopes as Scope[], ...(typeof name === 'string' ? { name } : {}), ...(typeof expires === 'string' ? { expiresAt: parseExpiry(expires) } : {}) },
      'cli',
    );
    if (wantsJson(args)) {
      printJson(ctx, created);
    } else {
      ctx.out(created.token);
      ctx.err(`Token ${created.tokenId} for ${workspaceId} (${created.scopes.join(', ')}${created.expiresAt ? `, expires ${created.expiresAt}` : ''}).`);
      ctx.err('This is the only time it is shown: store it now (e.g. in Prometheus authorization.credentials_file).');
    }
    return 0;
  },
};

export const tokenList: Command = {
  path: ['token', 'list'],
  summary: "List a workspace's tokens (never their secrets).",
  usage: '--workspace ID [--json]',
  options: { workspace: { type: 'string' }, ...JSON_OPTION },
  async run(args, ctx) {
    const tokens = (await ctx.appliance()).control.listTokens(requireString(args, 'workspace'));
    if (wantsJson(args)) printJson(ctx, tokens);
    else if (tokens.length === 0) ctx.out('No tokens. Create one with: ampule token create --workspace ID --scope remote_write');
    else
      table(
        ctx,
        ['TOKEN ID', 'SCOPES', 'CREATED', 'EXPIRES', 'LAST USED', 'STATE', 'NAME'],
        tokens.map((t) => [
          t.tokenId,
          t.scopes.join(','),
          t.createdAt,
          t.expiresAt ?? 'never',
          t.lastUsedAt ?? 'never',
          t.revokedAt ? 'revoked' : t.expiresAt && Date.parse(t.expiresAt) <= Date.now() ? 'expired' : 'active',
          t.name,
        ]),
      );
    return 0;
  },
};

export const tokenRevoke: Command = {
  path: ['token', 'revoke'],
  summary: 'Revoke a token at once.',
  usage: 'TOKEN_ID [--json]',
  options: { ...JSON_OPTION },
  async run(args, ctx) {
    const info = (await ctx.appliance()).control.revokeToken(requirePositional(args, 0, 'TOKEN_ID'), 'cli');
    reply(args, ctx, info, `Revoked token ${info.tokenId} (${info.workspaceId}) at ${info.revokedAt}.`);
    return 0;
  },
};

export const tokenCommands: Command[] = [tokenCreate, tokenList, tokenRevoke];
