// `ampule rule-groups put|list|describe|delete|check|test`: AMP's rule-groups namespaces — Prometheus
// recording and alerting rule files per workspace, stored sealed — plus offline checks and rule
// unit tests in `promtool test rules` format. Not to be confused with `ampule rules set`, the
// ingest rules that drop or hash labels before storage.
import { readFileSync } from 'node:fs';
import { type CliContext, type Command, type ParsedArgs, UsageError, requireString } from '../command';
import { MAX_RULE_FILE_BYTES, RuleFileError, parseRuleFile } from '../../rules/rule-file';
import { runRuleTestFile } from '../../rules/unit-test';
import { JSON_OPTION, reply, table, wantsJson, printJson } from './output';
import { existingWorkspace } from './workspace-option';

const NOT_INGEST = '(Prometheus rule files; `ampule rules` is the unrelated ingest label rules)';

function readRuleFile(path: string): string {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read --file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (buf.length > MAX_RULE_FILE_BYTES) throw new UsageError(`--file ${path} is larger than ${MAX_RULE_FILE_BYTES} bytes`);
  return buf.toString('utf8');
}

function printProblems(ctx: CliContext, where: string, e: RuleFileError): void {
  ctx.err(`${where}: ${e.problems.length} problem(s):`);
  for (const line of e.message.split('\n')) ctx.err(`  ${line}`);
}

export const ruleGroupsPut: Command = {
  path: ['rule-groups', 'put'],
  summary: `Create or replace a workspace's rule-groups namespace from a rule file ${NOT_INGEST}.`,
  usage: '--workspace ID --namespace NAME --file FILE [--json]',
  options: { workspace: { type: 'string' }, namespace: { type: 'string' }, file: { type: 'string' }, ...JSON_OPTION },
  forwardToServer: true,
  async run(args, ctx) {
    const name = requireString(args, 'namespace');
    const path = ctx.path(requireString(args, 'file'));
    const text = readRuleFile(path);
    const { workspaceId, appliance } = await existingWorkspace(args, ctx);
    try {
      const ns = appliance.ruleNamespaces.put(workspaceId, name, text);
      appliance.activity.append({ action: 'rule_groups.put', outcome: 'ok', actor: 'cli', workspaceId, detail: `namespace ${name}: ${ns.groups} group(s), ${ns.rules} rule(s)` });
      reply(args, ctx, ns, `Namespace ${name} in ${workspaceId}: ${ns.groups} group(s), ${ns.rules} rule(s).`);
      return 0;
    } catch (e) {
      const detail = e instanceof RuleFileError ? `namespace ${name}: rule file refused (${e.problems.length} problem(s))` : `namespace ${name}: ${(e as Error).name}`;
      appliance.activity.append({ action: 'rule_groups.put', outcome: 'error', actor: 'cli', workspaceId, detail });
      if (!(e instanceof RuleFileError)) throw e;
      printProblems(ctx, `Namespace ${name} not stored`, e);
      return 1;
    }
  },
};

export const ruleGroupsList: Command = {
  path: ['rule-groups', 'list'],
  summary: 'List a workspace\'s rule-groups namespaces.',
  usage: '--workspace ID [--json]',
  options: { workspace: { type: 'string' }, ...JSON_OPTION },
  async run(args, ctx) {
    const { workspaceId, appliance } = await existingWorkspace(args, ctx);
    const list = appliance.ruleNamespaces.list(workspaceId);
    if (wantsJson(args)) printJson(ctx, list);
    else if (list.length === 0) ctx.out(`${workspaceId} has no rule-groups namespaces.`);
    else table(ctx, ['NAMESPACE', 'GROUPS', 'RULES', 'MODIFIED'], list.map((n) => [n.name, String(n.groups), String(n.rules), n.modifiedAt]));
    return 0;
  },
};

export const ruleGroupsDescribe: Command = {
  path: ['rule-groups', 'describe'],
  summary: 'Show a rule-groups namespace and its rule file.',
  usage: '--workspace ID --namespace NAME [--json]',
  options: { workspace: { type: 'string' }, namespace: { type: 'string' }, ...JSON_OPTION },
  async run(args, ctx) {
    const name = requireString(args, 'namespace');
    const { workspaceId, appliance } = await existingWorkspace(args, ctx);
    const ns = appliance.ruleNamespaces.describe(workspaceId, name);
    if (wantsJson(args)) printJson(ctx, ns);
    else {
      ctx.out(`# namespace ${ns.name} in ${workspaceId}: ${ns.groups} group(s), ${ns.rules} rule(s); created ${ns.createdAt}, modified ${ns.modifiedAt}`);
      ctx.out(ns.data.replace(/\n$/, ''));
    }
    return 0;
  },
};

export const ruleGroupsDelete: Command = {
  path: ['rule-groups', 'delete'],
  summary: 'Delete a rule-groups namespace.',
  usage: '--workspace ID --namespace NAME [--json]',
  options: { workspace: { type: 'string' }, namespace: { type: 'string' }, ...JSON_OPTION },
  forwardToServer: true,
  async run(args, ctx) {
    const name = requireString(args, 'namespace');
    const { workspaceId, appliance } = await existingWorkspace(args, ctx);
    try {
      appliance.ruleNamespaces.delete(workspaceId, name);
    } catch (e) {
      appliance.activity.append({ action: 'rule_groups.delete', outcome: 'error', actor: 'cli', workspaceId, detail: `namespace ${name}: ${(e as Error).name}` });
      throw e;
    }
    appliance.activity.append({ action: 'rule_groups.delete', outcome: 'ok', actor: 'cli', workspaceId, detail: `namespace ${name}` });
    reply(args, ctx, { workspaceId, namespace: name, deleted: true }, `Namespace ${name} deleted from ${workspaceId}.`);
    return 0;
  },
};

function files(args: ParsedArgs): string[] {
  if (args.positionals.length === 0) throw new UsageError('missing FILE');
  return args.positionals;
}

export const ruleGroupsCheck: Command = {
  path: ['rule-groups', 'check'],
  summary: 'Validate rule files offline, as `promtool check rules` does.',
  usage: 'FILE…',
  async run(args, ctx) {
    let bad = 0;
    for (const f of files(args)) {
      try {
        const rf = parseRuleFile(readRuleFile(f));
        ctx.out(`${f}: SUCCESS: ${rf.groups.reduce((n, g) => n + g.rules.length, 0)} rules found`);
      } catch (e) {
        if (!(e instanceof RuleFileError)) throw e;
        bad++;
        printProblems(ctx, `${f}: FAILED`, e);
      }
    }
    return bad ? 1 : 0;
  },
};

export const ruleGroupsTest: Command = {
  path: ['rule-groups', 'test'],
  summary: 'Run rule unit tests in `promtool test rules` format (offline, in a temp encrypted store).',
  usage: 'FILE…',
  async run(args, ctx) {
    let failed = 0;
    for (const f of files(args)) {
      const r = runRuleTestFile(f);
      ctx.out(`Unit Testing: ${f}`);
      if (r.passed) ctx.out('  SUCCESS');
      else {
        failed++;
        ctx.out('  FAILED:');
        for (const e of r.errors) ctx.out(e);
      }
      ctx.out('');
    }
    return failed ? 1 : 0;
  },
};

export const ruleGroupsCommands: Command[] = [ruleGroupsPut, ruleGroupsList, ruleGroupsDescribe, ruleGroupsDelete, ruleGroupsCheck, ruleGroupsTest];
