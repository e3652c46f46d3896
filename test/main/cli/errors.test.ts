// What a user sees when something is off, from real `node bin/ampule.mjs` processes (issue 13): a
// sentence naming the path and what to do for each file-system error, never Node's code or stack,
// exit status ≠ 0; a mistyped --data-dir is refused by every read and never created; parseArgs's
// texts replaced by a short message and the usage; the PII warning; help names the defaults.
// A key file stands in for the keychain (each test owns its master key); no server runs here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultDataDir } from '../../../main/core/data-dir';
import { ampule, ensureBuilt, type BinResult } from './bin-process';

const RAW = /\n\s+at |ERR_PARSE_ARGS|EACCES|ENOENT|EPERM|EEXIST|ENOTDIR|To specify a positional/;
const dir = mkdtempSync(join(tmpdir(), 'ampule-errors-'));
chmodSync(dir, 0o755); // other users may look in (the permission tests run one as another user)
const keyFile = join(dir, 'master.key');
const dataDir = join(dir, 'data');
const env = { ...process.env, HOME: join(dir, 'home'), AMPULE_DATA_DIR: undefined, XDG_CONFIG_HOME: undefined };
const cli = (args: string[], opts: { cwd?: string; dataDir?: string; uid?: number; gid?: number } = {}): Promise<BinResult> =>
  ampule([...args, '--data-dir', opts.dataDir ?? dataDir, '--master-key-file', keyFile], { env, cwd: opts.cwd ?? dir, ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid! } : {}) });

/** An error for the user: exit 1, nothing on stdout, one clean line on stderr. */
function expectClean(r: BinResult, text: string | RegExp): void {
  expect(r.stdout).toBe('');
  expect(r.status).toBe(1);
  expect(r.stderr).not.toMatch(RAW);
  if (typeof text === 'string') expect(r.stderr.trim()).toBe(text);
  else expect(r.stderr).toMatch(text);
}

let workspaceId: string;
beforeAll(async () => {
  ensureBuilt();
  writeFileSync(keyFile, randomBytes(32), { mode: 0o600 });
  const r = await cli(['workspace', 'create', '--alias', 'errors', '--json']);
  expect(r.stderr).toBe('');
  workspaceId = (JSON.parse(r.stdout) as { workspaceId: string }).workspaceId;
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a mistyped --data-dir', () => {
  const typo = join(dir, 'dta');
  const reads: string[][] = [
    ['workspace', 'list'],
    ['workspace', 'describe', 'ws-00000000-0000-4000-8000-000000000000'],
    ['token', 'list', '--workspace', 'ws-x'],
    ['retention', 'show', '--workspace', 'ws-x'],
    ['audit', 'verify'],
    ['audit', 'export'],
    ['rules', 'show', '--workspace', 'ws-x'],
    ['ca', 'export'],
    ['console', 'status'],
    ['scan'],
  ];
  it.each(reads.map((r) => [r.join(' '), r]))('%s refuses it and creates nothing', async (_name, argv) => {
    const r = await cli(argv as string[], { dataDir: typo });
    expectClean(r, `ampule ${(argv as string[]).filter((w) => !w.startsWith('-') && !w.startsWith('ws-')).slice(0, 2).join(' ')}: no Ampule data directory at ${typo}; create one with \`ampule serve\` or \`ampule workspace create\`, or give the right --data-dir (or AMPULE_DATA_DIR)`);
    expect(existsSync(typo)).toBe(false);
  });

  it('an existing folder that is not a data directory is refused by reads and left untouched', async () => {
    const other = join(dir, 'not-ampule');
    mkdirSync(other, { mode: 0o755 });
    expectClean(await cli(['workspace', 'list'], { dataDir: other }), `ampule workspace list: ${other} is not an Ampule data directory (it has no control.db); create one with \`ampule serve\` or \`ampule workspace create\`, or give the right --data-dir (or AMPULE_DATA_DIR)`);
    expect(existsSync(join(other, 'control.db'))).toBe(false);
  });

  it('workspace create makes a new one', async () => {
    const fresh = join(dir, 'fresh');
    expect((await cli(['workspace', 'create', '--alias', 'new'], { dataDir: fresh })).status).toBe(0);
    expect(existsSync(join(fresh, 'control.db'))).toBe(true);
  });
});

describe('the console password before the first start', () => {
  it('set-password makes the data directory (0700), names the default console URL; console status reads it', async () => {
    const first = join(dir, 'first-start');
    const r = await ampule(['console', 'set-password', '--data-dir', first], { env: { ...env, AMPULE_CONSOLE_PASSWORD: 'a long console password' } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`Console password set (${join(first, 'console-auth.json')}). Sign in at https://localhost:9443/console/ once \`ampule serve\` runs (with --port P: https://localhost:P/console/).\n`);
    expect(statSync(first).mode & 0o777).toBe(0o700);
    expect((await cli(['console', 'status'], { dataDir: first })).stdout).toBe('password: set; TOTP: off\n');
  });
});

describe('--data-dir that is a file', () => {
  const file = join(dir, 'a-file');
  beforeAll(() => writeFileSync(file, 'not a folder'));

  it('reads and creates say it is a file (EEXIST, ENOTDIR)', async () => {
    const expected = (cmd: string) => `ampule ${cmd}: the data directory ${file} is a file, not a folder: give --data-dir the folder Ampule keeps its data in (or a path where one can be made)`;
    expectClean(await cli(['workspace', 'list'], { dataDir: file }), expected('workspace list'));
    expectClean(await cli(['workspace', 'create', '--alias', 'x'], { dataDir: file }), expected('workspace create'));
    // A folder below a file: Node says ENOTDIR.
    expectClean(await cli(['workspace', 'create', '--alias', 'x'], { dataDir: join(file, 'data') }), `ampule workspace create: cannot use ${join(file, 'data')}: ${file} is a file, not a folder; give --data-dir a folder.`);
    expectClean(await cli(['workspace', 'list'], { dataDir: join(file, 'data') }), `ampule workspace list: cannot use ${join(file, 'data')}: ${file} is a file, not a folder; give --data-dir a folder.`);
  });
});

describe('a data directory of another user', () => {
  const isRoot = process.getuid?.() === 0;
  // As root the command runs as `nobody`; as anyone else, on a folder that shuts its owner out.
  const as = isRoot ? { uid: 65534, gid: 65534 } : {};
  const how = isRoot ? 'run as nobody against a root-owned data directory' : 'run against a data directory with mode 000';

  it.skipIf(process.platform === 'win32')(`a closed one (EACCES): says whose problem it is and what to do (${how})`, async () => {
    const closed = join(dir, 'closed');
    expect((await cli(['workspace', 'create', '--alias', 'mine'], { dataDir: closed })).status).toBe(0);
    if (!isRoot) chmodSync(closed, 0o000);
    try {
      for (const argv of [['workspace', 'list'], ['workspace', 'create', '--alias', 'x']]) {
        const r = await cli(argv, { dataDir: closed, ...as });
        expectClean(r, /cannot use the data directory .*closed: permission denied on .*closed.* \(it belongs to another user, or its permissions shut you out\)\. Run as the user who owns it, or use a data directory of your own with --data-dir or AMPULE_DATA_DIR\./);
      }
    } finally {
      chmodSync(closed, 0o700);
    }
  });

  it.skipIf(process.platform === 'win32' || !isRoot)(`a readable one owned by root (EPERM when Ampule makes it private) (${isRoot ? how : 'needs root to make another user\'s folder'})`, async () => {
    const shared = join(dir, 'shared');
    expect((await cli(['workspace', 'create', '--alias', 'mine'], { dataDir: shared })).status).toBe(0);
    chmodSync(shared, 0o755);
    chmodSync(join(shared, 'control.db'), 0o644);
    chownSync(keyFile, 65534, 65534); // the key is not what is refused here
    try {
      const r = await cli(['workspace', 'list'], { dataDir: shared, ...as });
      expectClean(r, /ampule workspace list: cannot use the data directory .*shared: permission denied on .*shared .*Run as the user who owns it/);
    } finally {
      chownSync(keyFile, 0, 0);
    }
  });
});

describe('files named on the command line', () => {
  it('ca export --out into a missing folder (ENOENT)', async () => {
    const r = await cli(['ca', 'export', '--out', 'missing/ca.pem']);
    expectClean(r, `ampule ca export: cannot use ${join(dir, 'missing/ca.pem')}: the folder ${join(dir, 'missing')} does not exist. Create it first (mkdir -p ${join(dir, 'missing')}) or choose another path.`);
    const ok = await cli(['ca', 'export', '--out', 'ca.pem']);
    expect(ok.status).toBe(0);
    expect(existsSync(join(dir, 'ca.pem'))).toBe(true);
  });

  it('restore of a file that does not exist', async () => {
    writeFileSync(join(dir, 'pass'), 'a long enough passphrase', { mode: 0o600 });
    expectClean(await cli(['restore', 'nope.bak', '--passphrase-file', 'pass']), `ampule restore: ${join(dir, 'nope.bak')} does not exist; check the path.`);
  });

  it('cert issue --out-dir that is a file', async () => {
    writeFileSync(join(dir, 'certs'), '');
    expectClean(await cli(['cert', 'issue', '--workspace', workspaceId, '--out-dir', 'certs']), `ampule cert issue: ${join(dir, 'certs')} exists and is not a folder; choose another path.`);
  });
});

describe('usage errors', () => {
  it('an unknown flag: a short message and the usage, exit 2', async () => {
    const r = await cli(['workspace', 'list', '--jsn']);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('ampule workspace list: unknown option --jsn\nUsage: ampule workspace list [--json]   (every command also takes --data-dir DIR and --master-key-file FILE)\n');
  });

  it('a flag without its value, and a value for a flag that takes none', async () => {
    const missing = await ampule(['workspace', 'create', '--alias'], { env });
    expect(missing.status).toBe(2);
    expect(missing.stderr.split('\n')[0]).toBe('ampule workspace create: --alias needs a value');
    expect(missing.stderr).not.toMatch(RAW);
    const extra = await cli(['workspace', 'list', '--json=yes']);
    expect(extra.status).toBe(2);
    expect(extra.stderr.split('\n')[0]).toBe('ampule workspace list: --json takes no value');
  });

  it('serve refuses a query limit that is not a number or a duration, before opening anything', async () => {
    const samples = await cli(['serve', '--query.max-samples', 'lots']);
    expect(samples.status).toBe(2);
    expect(samples.stderr.split('\n')[0]).toBe('ampule serve: --query.max-samples must be a positive whole number, got lots');
    const timeout = await cli(['serve', '--query.timeout', '2 minutes']);
    expect(timeout.status).toBe(2);
    expect(timeout.stderr.split('\n')[0]).toBe('ampule serve: --query.timeout must be a duration such as 2m or 30s, got 2 minutes');
  });

  it('describe of an unknown id, run locally', async () => {
    expectClean(await cli(['workspace', 'describe', 'ws-00000000-0000-4000-8000-000000000000']), 'ampule workspace describe: no workspace ws-00000000-0000-4000-8000-000000000000 (ampule workspace list shows them)');
  });
});

describe('alias and tag warnings', () => {
  it('update warns about an AWS access key in a tag, on stderr; stdout keeps the JSON', async () => {
    const r = await cli(['workspace', 'update', workspaceId, '--tag', 'deploy=AKIAIOSFODNN7EXAMPLE', '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ workspaceId, tags: { deploy: 'AKIAIOSFODNN7EXAMPLE' } });
    expect(r.stderr).toMatch(/Warning: this looks like sensitive data[\s\S]*AWS access key id in tag deploy: /);
    expect(r.stderr).not.toContain('AKIAIOSFODNN7EXAMPLE');
  });

  it('a plain alias gets no warning', async () => {
    const r = await cli(['workspace', 'create', '--alias', 'staging', '--tag', 'team=sre']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
  });
});

describe('help', () => {
  it('names the default data directory (this platform\'s path), AMPULE_DATA_DIR and the master-key options', async () => {
    const r = await ampule(['help'], { env });
    expect(r.status).toBe(0);
    const expected = defaultDataDir({ HOME: env.HOME });
    expect(expected).toBe(process.platform === 'linux' ? join(dir, 'home', '.config', 'Ampule') : expected);
    expect(r.stdout).toContain(`--data-dir DIR          where the data lives: default $AMPULE_DATA_DIR, else ${expected}`);
    expect(r.stdout).toContain('--master-key-file FILE  the master key from a file (mode 0600, 32 random bytes) instead of the OS keychain');
    expect(r.stdout).toMatch(/ampule status \[--json\]/);
    const withEnv = await ampule(['help'], { env: { ...env, AMPULE_DATA_DIR: '/srv/ampule' } });
    expect(withEnv.stdout).toContain('default $AMPULE_DATA_DIR (now /srv/ampule)');
  });
});
