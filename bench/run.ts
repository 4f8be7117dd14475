/**
 * Burrow load benchmark.
 *
 *   npx tsx bench/run.ts [--duration SECONDS] [--connections N ...] [--pipelining N] [--direct-only] [--keep-logs]
 *
 * Starts the bench origin, a real edge and a real agent (dist/cli/main.js) as separate processes on loopback,
 * then for each body (tiny, 16k) and each connection count runs autocannon against the origin directly and
 * through the edge. Prints a table and writes bench/results/latest.json. Exit code 1 when any run saw an error
 * (or the harness failed), 2 on a usage error, 130 when interrupted.
 */
import autocannon from 'autocannon';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BODY_16K_TEXT, TINY_BODY } from './bodies.js';

// ---------------------------------------------------------------------------------------------------------------
// configuration

const REPO = fileURLToPath(new URL('..', import.meta.url));
const CLI = path.join(REPO, 'dist', 'cli', 'main.js');
const RESULTS_DIR = path.join(REPO, 'bench', 'results');
const HOSTNAME = 'bench.localhost';
const READY_TIMEOUT_MS = 20_000;
const BUILD_TIMEOUT_MS = 180_000;
const KILL_GRACE_MS = 3_000;
const WARMUP_S = 2;
const PAUSE_BETWEEN_RUNS_MS = 500;
const REQUEST_TIMEOUT_S = 10;

type BodyName = 'tiny' | '16k';
type Target = 'direct' | 'tunnel';

const BODIES: ReadonlyArray<{ name: BodyName; path: string; text: string }> = [
  { name: 'tiny', path: '/tiny', text: TINY_BODY },
  { name: '16k', path: '/16k', text: BODY_16K_TEXT },
];

interface CliOptions {
  durationS: number;
  connections: number[];
  pipelining: number;
  directOnly: boolean;
  keepLogs: boolean;
  /** run the edge with a policy file (rate limit, allow-list, IP list, Basic auth, body limit) on the benchmark host */
  policy: boolean;
  /** split the host 90/10 between two agents labelled release=stable and release=canary (label routing) */
  split: boolean;
  /** tunnel connections per agent (--ha-connections); undefined = the CLI default (4) */
  haConnections: number | undefined;
  /** burrow CLI entry point; undefined = dist/cli/main.js (built on demand) */
  cli: string | undefined;
}

const USAGE = `usage: tsx bench/run.ts [options]
  --duration SECONDS   length of each measured run (default 10)
  --connections N      connection count; repeatable or comma list (default 10,100)
  --pipelining N       HTTP/1.1 pipelining depth per connection (default 1)
  --direct-only        only benchmark the origin directly (no build, no edge/agent)
  --keep-logs          keep the child-process log directory even when everything passed
  --policy             put the benchmark hostname behind an edge policy (every check passes; measures their cost)
  --split              two agents (release=stable, release=canary) and a 90/10 split rule on the host
  --ha-connections N   tunnel connections per agent (default: the CLI's, 4)
  --cli FILE           burrow CLI entry point to run (default dist/cli/main.js, built if missing)
  -h, --help           show this help`;

function usageError(msg: string): never {
  process.stderr.write(`bench: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

function parseCli(argv: string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        duration: { type: 'string' },
        connections: { type: 'string', multiple: true },
        pipelining: { type: 'string' },
        'direct-only': { type: 'boolean', default: false },
        'keep-logs': { type: 'boolean', default: false },
        policy: { type: 'boolean', default: false },
        split: { type: 'boolean', default: false },
        'ha-connections': { type: 'string' },
        cli: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    usageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const durationS = v.duration === undefined ? 10 : Number(v.duration);
  if (!Number.isFinite(durationS) || durationS <= 0 || durationS > 3600) {
    usageError(`--duration must be a number of seconds in (0, 3600], got ${String(v.duration)}`);
  }
  const connections: number[] = [];
  for (const item of v.connections ?? ['10,100']) {
    for (const part of item.split(',')) {
      if (part.trim() === '') continue;
      const n = Number(part);
      if (!Number.isInteger(n) || n < 1 || n > 10_000) usageError(`--connections must be integers in [1, 10000], got ${part}`);
      if (!connections.includes(n)) connections.push(n);
    }
  }
  if (connections.length === 0) usageError('--connections is empty');
  const pipelining = v.pipelining === undefined ? 1 : Number(v.pipelining);
  if (!Number.isInteger(pipelining) || pipelining < 1 || pipelining > 1024) {
    usageError(`--pipelining must be an integer in [1, 1024], got ${String(v.pipelining)}`);
  }
  const cli = v.cli === undefined ? undefined : path.resolve(v.cli);
  if (cli !== undefined && !fs.existsSync(cli)) usageError(`--cli ${cli} does not exist`);
  const ha = v['ha-connections'] === undefined ? undefined : Number(v['ha-connections']);
  if (ha !== undefined && !(Number.isInteger(ha) && ha >= 1 && ha <= 16)) usageError(`--ha-connections must be an integer in [1, 16], got ${String(v['ha-connections'])}`);
  return { durationS, connections, pipelining, directOnly: v['direct-only'], keepLogs: v['keep-logs'], policy: v.policy, split: v.split, haConnections: ha, cli };
}

// ---------------------------------------------------------------------------------------------------------------
// small helpers

class Interrupted extends Error {
  constructor() {
    super('interrupted');
  }
}

let interrupted = false;
let currentLoad: autocannon.Instance | undefined;
let buildProc: ChildProcess | undefined;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function checkInterrupted(): void {
  if (interrupted) throw new Interrupted();
}

/** Polls `probe` every `intervalMs` until it returns a value other than undefined, or throws after `timeoutMs`. */
async function waitFor<T>(
  what: string,
  deadline: number,
  intervalMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  for (;;) {
    checkInterrupted();
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

async function freePort(): Promise<net.Server> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  return srv;
}

/** Picks `n` distinct free loopback ports (bind port 0, read the port, close). */
async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < n; i++) servers.push(await freePort());
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

interface SimpleResponse {
  status: number;
  body: string;
}

/** One bounded GET on a fresh connection; undefined on any network error or timeout. */
function httpGet(port: number, urlPath: string, host: string, timeoutMs: number): Promise<SimpleResponse | undefined> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: urlPath, method: 'GET', headers: { host, ...tunnelAuth }, agent: false, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('latin1') }));
        res.on('error', () => resolve(undefined));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

function getClockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 2000 }).trim());
    if (Number.isInteger(n) && n > 0) return n;
  } catch {
    // fall through
  }
  return 100;
}
const CLK_TCK = getClockTicks();

/** utime + stime of a process in clock ticks (all threads), or undefined when it cannot be read. */
function readCpuTicks(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the comm field (2) is in parentheses and may contain spaces: split after the last ')'
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime is field 14, stime field 15
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
    return utime + stime;
  } catch {
    return undefined;
  }
}

/** VmHWM (peak resident set) in KiB, or undefined. */
function readPeakRssKiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return m?.[1] === undefined ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** Resets VmHWM to the current RSS (Linux: write "5" to clear_refs) so the next reading is a per-run peak. */
function resetPeakRss(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

const round = (x: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

// ---------------------------------------------------------------------------------------------------------------
// child processes

interface Child {
  name: string;
  proc: ChildProcess;
  logPath: string;
  exited: Promise<void>;
  exitInfo: string | undefined;
}

const children: Child[] = [];

function childEnv(): NodeJS.ProcessEnv {
  // BURROW_* from the caller's environment would change what the edge/agent do (extra tokens, another edge)
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BURROW_')) env[k] = v;
  return env;
}

function spawnChild(name: string, logDir: string, command: string, args: string[], withStdinPipe = false): Child {
  const logPath = path.join(logDir, `${name}.log`);
  const fd = fs.openSync(logPath, 'a');
  let proc: ChildProcess;
  try {
    proc = spawn(command, args, {
      cwd: REPO,
      env: childEnv(),
      // stdout+stderr straight into the log file: the edge writes an access-log line per request and the
      // runner must not spend CPU relaying it
      stdio: [withStdinPipe ? 'pipe' : 'ignore', fd, fd],
      // own process group: a Ctrl-C in the terminal reaches only the runner, which shuts children down in order
      detached: true,
    });
  } finally {
    fs.closeSync(fd);
  }
  const child: Child = {
    name,
    proc,
    logPath,
    exitInfo: undefined,
    exited: new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        child.exitInfo = signal === null ? `exit code ${String(code)}` : `signal ${signal}`;
        resolve();
      });
      proc.once('error', (err) => {
        child.exitInfo = `spawn error: ${err.message}`;
        resolve();
      });
    }),
  };
  proc.stdin?.on('error', () => {});
  children.push(child);
  return child;
}

function isAlive(c: Child): boolean {
  return c.exitInfo === undefined && c.proc.exitCode === null && c.proc.signalCode === null;
}

/** Throws if any child has exited (they must all live for the whole benchmark). */
function checkChildren(): void {
  for (const c of children) {
    if (!isAlive(c)) throw new Error(`${c.name} exited unexpectedly (${c.exitInfo ?? 'unknown'}); log: ${c.logPath}`);
  }
}

async function stopChild(c: Child): Promise<void> {
  if (!isAlive(c)) return;
  c.proc.stdin?.end();
  c.proc.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    c.exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), KILL_GRACE_MS);
    }),
  ]);
  clearTimeout(timer);
  if (timedOut && isAlive(c)) {
    process.stderr.write(`bench: ${c.name} (pid ${String(c.proc.pid)}) ignored SIGTERM for ${KILL_GRACE_MS} ms, sending SIGKILL\n`);
    c.proc.kill('SIGKILL');
    await Promise.race([c.exited, sleep(2000)]);
  }
}

async function stopAllChildren(): Promise<void> {
  // agent first so it does not see the edge vanish; everything in parallel keeps the total bounded at ~5 s
  await Promise.all(children.map((c) => stopChild(c)));
}

function killAllChildrenNow(): void {
  for (const c of children) {
    if (isAlive(c)) {
      try {
        c.proc.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

function logPathsText(): string {
  return children.map((c) => `  ${c.name}: ${c.logPath}`).join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// setup

/** Newest modification time of the TypeScript sources and the proto file (0 when none is found). */
function newestSourceMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMtime(p));
    else if (/\.(ts|js|proto)$/.test(entry.name)) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

async function ensureBuild(logDir: string): Promise<void> {
  // A build older than the sources would benchmark (or reject the options of) yesterday's code.
  const built = fs.existsSync(CLI) ? fs.statSync(CLI).mtimeMs : 0;
  if (built > 0 && built >= newestSourceMtime(path.join(REPO, 'src'))) return;
  const logPath = path.join(logDir, 'build.log');
  process.stdout.write(`note: ${path.relative(REPO, CLI)} is ${built === 0 ? 'missing' : 'older than src/'}, running \`npm run build\` (log: ${logPath})\n`);
  const fd = fs.openSync(logPath, 'a');
  let proc: ChildProcess;
  try {
    proc = spawn('npm', ['run', 'build'], { cwd: REPO, env: process.env, stdio: ['ignore', fd, fd] });
  } finally {
    fs.closeSync(fd);
  }
  buildProc = proc;
  const result = await new Promise<string>((resolve) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      resolve(`timed out after ${BUILD_TIMEOUT_MS / 1000} s`);
    }, BUILD_TIMEOUT_MS);
    proc.once('error', (err) => {
      clearTimeout(timer);
      resolve(`could not run npm: ${err.message}`);
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code === 0 ? 'ok' : `failed (${signal ?? `exit code ${String(code)}`})`);
    });
  });
  buildProc = undefined;
  checkInterrupted();
  if (result !== 'ok' || !fs.existsSync(CLI)) {
    throw new Error(`npm run build ${result === 'ok' ? `did not produce ${CLI}` : result}; log: ${logPath}`);
  }
}

async function startOrigin(logDir: string): Promise<{ child: Child; port: number }> {
  const child = spawnChild(
    'origin',
    logDir,
    process.execPath,
    ['--import', 'tsx', path.join('bench', 'origin.ts'), '--exit-on-stdin-close'],
    true,
  );
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const port = await waitFor(`the origin to print its port (log: ${child.logPath})`, deadline, 50, () => {
    checkChildren();
    const m = /^\{"port":(\d+)\}$/m.exec(fs.readFileSync(child.logPath, 'utf8'));
    return m?.[1] === undefined ? undefined : Number(m[1]);
  });
  for (const body of BODIES) {
    const res = await httpGet(port, body.path, `127.0.0.1:${port}`, 2000);
    if (res === undefined || res.status !== 200 || res.body !== body.text) {
      throw new Error(`origin self-check failed for ${body.path}: ${res === undefined ? 'no response' : `status ${res.status}, ${res.body.length} bytes`}`);
    }
  }
  return { child, port };
}

/** Extra request fields for the tunnel target: the Basic credentials of the --policy run. */
let tunnelAuth: Record<string, string> = {};

/** A policy in which every check runs and passes for the benchmark's requests (SPEC.md §11.1). */
async function writePolicy(dir: string): Promise<string> {
  const { hashPassword } = await import('../src/edge/shield/auth.js');
  const file = path.join(dir, 'edge.yaml');
  fs.writeFileSync(file, [
    'defaults:',
    '  rateLimit: { requestsPerSecond: 1000000, burst: 1000000, per: ip }',
    'hosts:',
    `  ${HOSTNAME}:`,
    '    allow: { methods: [GET], paths: ["/*"] }',
    '    ipAllow: ["127.0.0.0/8"]',
    `    auth: { basic: { bench: "${await hashPassword('bench-password')}" } }`,
    '    maxBodyBytes: 1048576',
    '',
  ].join('\n'));
  tunnelAuth = { authorization: `Basic ${Buffer.from('bench:bench-password').toString('base64')}` };
  return file;
}

/** The --split policy: 90 % of the host's requests to the release=stable agent, 10 % to release=canary. */
function writeSplit(dir: string): string {
  const file = path.join(dir, 'edge-split.yaml');
  fs.writeFileSync(file, [
    'hosts:',
    `  ${HOSTNAME}:`,
    '    split:',
    '      - { match: { release: stable }, weight: 90 }',
    '      - { match: { release: canary }, weight: 10 }',
    '',
  ].join('\n'));
  return file;
}

interface TunnelShape { policy: boolean; split: boolean; haConnections: number | undefined }

async function startTunnel(cli: string, logDir: string, originPort: number, shape: TunnelShape): Promise<{ edge: Child; agent: Child; listenPort: number }> {
  const stateDir = fs.mkdtempSync(path.join(logDir, 'edge-state-'));
  if (shape.policy && shape.split) usageError('--policy and --split cannot be combined');
  const policyArgs = shape.policy ? ['--config', await writePolicy(logDir)] : shape.split ? ['--config', writeSplit(logDir)] : [];
  const agentHome = fs.mkdtempSync(path.join(logDir, 'agent-home-'));
  const [listenPort, tunnelPort] = (await freePorts(2)) as [number, number];
  const deadline = Date.now() + READY_TIMEOUT_MS;

  const edge = spawnChild('edge', logDir, process.execPath, [
    cli, 'edge',
    '--listen', `127.0.0.1:${listenPort}`,
    '--tunnel-listen', `127.0.0.1:${tunnelPort}`,
    '--state-dir', stateDir,
    '--log-level', 'info',
    ...policyArgs,
  ]);

  // the agent needs the CA the edge writes on first start, and is happier when the edge already listens
  const caPath = path.join(stateDir, 'ca.pem');
  await waitFor(`the edge to come up (ca.pem + HTTP listener)`, deadline, 100, async () => {
    checkChildren();
    let ca = '';
    try {
      ca = fs.readFileSync(caPath, 'utf8');
    } catch {
      return undefined;
    }
    if (!ca.includes('END CERTIFICATE')) return undefined;
    const res = await httpGet(listenPort, '/', HOSTNAME, 1000);
    return res === undefined ? undefined : true;
  });

  // Enroll the agent as an operator would: an account with the benchmark's zone, then burrow login.
  const added = execFileSync(process.execPath, [cli, 'edge', 'accounts', 'add', 'bench', '--zone', HOSTNAME, '--state-dir', stateDir],
    { env: childEnv(), encoding: 'utf8' });
  const token = added.trim().split('\n').pop()!;
  execFileSync(process.execPath, [cli, 'login', '--edge', `127.0.0.1:${tunnelPort}`, '--token', token, '--edge-ca', caPath, '--home', agentHome],
    { env: childEnv(), stdio: 'ignore' });

  const agentArgs = (label: string | undefined): string[] => [
    cli,
    '--edge', `127.0.0.1:${tunnelPort}`,
    '--home', agentHome,
    '--hostname', HOSTNAME,
    '--ready', 'off',
    '--log-level', 'info',
    ...(shape.haConnections === undefined ? [] : ['--ha-connections', String(shape.haConnections)]),
    ...(label === undefined ? [] : ['--label', label]),
    `http://127.0.0.1:${originPort}`,
  ];
  const agent = spawnChild('agent', logDir, process.execPath, agentArgs(shape.split ? 'release=stable' : undefined));
  // The canary replica of --split: its RSS is not reported; its requests count like the others.
  if (shape.split) spawnChild('agent-canary', logDir, process.execPath, agentArgs('release=canary'));

  let last = 'no response yet';
  try {
    await waitFor(`GET /tiny through the edge to answer 200 "ok"`, deadline, 100, async () => {
      checkChildren();
      const res = await httpGet(listenPort, '/tiny', HOSTNAME, 1000);
      if (res === undefined) return undefined;
      last = `status ${res.status}, body ${JSON.stringify(res.body.slice(0, 120))}`;
      return res.status === 200 && res.body === TINY_BODY ? true : undefined;
    });
  } catch (err) {
    if (err instanceof Error && !(err instanceof Interrupted)) {
      err.message = `${err.message} (http://127.0.0.1:${listenPort}/tiny, Host ${HOSTNAME}; last: ${last})`;
    }
    throw err;
  }
  return { edge, agent, listenPort };
}

// ---------------------------------------------------------------------------------------------------------------
// load runs

interface LoadResult {
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  breakdown: { errors: number; timeouts: number; non2xx: number; mismatches: number };
  statusCodes: Record<string, number>;
  firstError: string | undefined;
}

/** Exact latency percentiles from every response time autocannon reports (its own histogram is integer ms). */
class LatencyRecorder {
  private buf = new Float64Array(1 << 16);
  private n = 0;
  add(ms: number): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = ms;
  }
  percentiles(qs: number[]): number[] | undefined {
    if (this.n === 0) return undefined;
    const sorted = this.buf.subarray(0, this.n).sort();
    return qs.map((q) => sorted[Math.min(this.n - 1, Math.max(0, Math.ceil(q * this.n) - 1))] ?? 0);
  }
}

async function runLoad(opts: {
  url: string;
  connections: number;
  pipelining: number;
  durationS: number;
  headers?: Record<string, string>;
  requests?: autocannon.Request[];
  verifyBody: (body: string) => boolean;
}): Promise<LoadResult> {
  checkInterrupted();
  const latencies = new LatencyRecorder();
  let firstError: string | undefined;
  const instance = autocannon({
    url: opts.url,
    connections: opts.connections,
    pipelining: opts.pipelining,
    duration: opts.durationS,
    timeout: REQUEST_TIMEOUT_S,
    verifyBody: opts.verifyBody,
    ...(opts.headers === undefined ? {} : { headers: opts.headers }),
    ...(opts.requests === undefined ? {} : { requests: opts.requests }),
  });
  currentLoad = instance;
  instance.on('response', (_client, _status, _bytes, ms) => latencies.add(ms));
  instance.on('reqError', (err) => {
    firstError ??= err.message;
  });
  instance.on('reqMismatch', (body) => {
    firstError ??= `body mismatch (${body.length} chars)`;
  });
  // autocannon always finishes after duration (+ at most one request timeout); guard against a hang anyway
  let watchdog: NodeJS.Timeout | undefined;
  const hardLimitMs = (opts.durationS + REQUEST_TIMEOUT_S + 20) * 1000;
  let result: autocannon.Result;
  try {
    result = await Promise.race([
      Promise.resolve(instance),
      new Promise<never>((_resolve, reject) => {
        watchdog = setTimeout(() => {
          instance.stop();
          reject(new Error(`autocannon did not finish within ${hardLimitMs / 1000} s`));
        }, hardLimitMs);
      }),
    ]);
  } finally {
    clearTimeout(watchdog);
    currentLoad = undefined;
  }
  checkInterrupted();
  const requests = result.requests.total;
  const pct = latencies.percentiles([0.5, 0.99]);
  // autocannon's `errors` already includes `timeouts`; count each failed request once
  const errors = result.errors + result.non2xx + result.mismatches;
  const statusCodes: Record<string, number> = {};
  for (const [code, s] of Object.entries(result.statusCodeStats)) statusCodes[code] = s.count;
  return {
    requests,
    rps: result.duration > 0 ? requests / result.duration : 0,
    p50Ms: pct?.[0] ?? result.latency.p50,
    p99Ms: pct?.[1] ?? result.latency.p99,
    errors,
    breakdown: { errors: result.errors - result.timeouts, timeouts: result.timeouts, non2xx: result.non2xx, mismatches: result.mismatches },
    statusCodes,
    firstError,
  };
}

interface RunRecord {
  target: Target;
  body: BodyName;
  connections: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  ratio_to_direct: number | null;
  cpu_ms_per_1k: { edge: number; agent: number; origin: number };
  peak_rss_mb: { edge: number; agent: number };
  /** CPU of this process (autocannon), for telling a load-generator-bound run from a tunnel-bound one */
  loadgen_cpu_ms_per_1k: number;
  failed: boolean;
  requests: number;
  error_breakdown: LoadResult['breakdown'];
  status_codes: Record<string, number>;
  first_error?: string;
}

function cpuPer1k(before: number | undefined, after: number | undefined, requests: number): number {
  if (before === undefined || after === undefined || requests <= 0) return 0;
  const cpuMs = ((after - before) * 1000) / CLK_TCK;
  return round(cpuMs / (requests / 1000), 3);
}

function kibToMiB(kib: number | undefined): number {
  return kib === undefined ? 0 : round(kib / 1024, 1);
}

// ---------------------------------------------------------------------------------------------------------------
// output

function fmt(n: number | null, digits: number): string {
  if (n === null) return '-';
  return n.toFixed(digits);
}

function renderTable(runs: RunRecord[]): string {
  const header = ['target', 'body', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'ratio', 'cpu/1k edge', 'cpu/1k agent', 'cpu/1k origin', 'cpu/1k loadgen', 'RSS MiB edge', 'RSS MiB agent'];
  const rows = runs.map((r) => {
    const tunnel = r.target === 'tunnel';
    return [
      r.target,
      r.body,
      String(r.connections),
      fmt(r.rps, 0),
      fmt(r.p50_ms, 2),
      fmt(r.p99_ms, 2),
      r.failed ? `${r.errors} FAIL` : String(r.errors),
      fmt(r.ratio_to_direct, 3),
      tunnel ? fmt(r.cpu_ms_per_1k.edge, 1) : '-',
      tunnel ? fmt(r.cpu_ms_per_1k.agent, 1) : '-',
      fmt(r.cpu_ms_per_1k.origin, 1),
      fmt(r.loadgen_cpu_ms_per_1k, 1),
      tunnel ? fmt(r.peak_rss_mb.edge, 1) : '-',
      tunnel ? fmt(r.peak_rss_mb.agent, 1) : '-',
    ];
  });
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const leftAligned = new Set([0, 1]);
  const line = (row: string[]): string =>
    row.map((cell, i) => (leftAligned.has(i) ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  const sep = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), sep, ...rows.map(line)].join('\n');
}

function describeRun(r: RunRecord): string {
  let s = `${r.target.padEnd(6)} ${r.body.padEnd(4)} c=${String(r.connections).padEnd(4)} ${fmt(r.rps, 0).padStart(7)} req/s  p50 ${fmt(r.p50_ms, 2)} ms  p99 ${fmt(r.p99_ms, 2)} ms  errors ${r.errors}`;
  if (r.target === 'tunnel') s += `  ratio ${fmt(r.ratio_to_direct, 3)}`;
  if (r.failed) {
    const b = r.error_breakdown;
    s += `  FAILED (conn errors ${b.errors}, timeouts ${b.timeouts}, non2xx ${b.non2xx}, mismatches ${b.mismatches}; status ${JSON.stringify(r.status_codes)}${r.first_error === undefined ? '' : `; first: ${r.first_error}`})`;
  }
  return s;
}

// ---------------------------------------------------------------------------------------------------------------
// main

async function main(): Promise<number> {
  const opts = parseCli(process.argv.slice(2));
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'burrow-bench-'));
  const runs: RunRecord[] = [];
  let rssScope: 'per_run' | 'process_lifetime' = 'per_run';
  let harnessError: string | undefined;
  let exitCode = 0;

  process.stdout.write(
    `burrow bench: node ${process.version}, ${os.cpus().length} cores, duration ${opts.durationS} s, ` +
      `connections ${opts.connections.join(',')}, pipelining ${opts.pipelining}${opts.directOnly ? ', direct only' : ''}\n` +
      `child logs: ${logDir}\n`,
  );

  try {
    if (!opts.directOnly && opts.cli === undefined) await ensureBuild(logDir);
    checkInterrupted();

    const origin = await startOrigin(logDir);
    process.stdout.write(`origin listening on 127.0.0.1:${origin.port} (pid ${String(origin.child.proc.pid)})\n`);

    let tunnel: Awaited<ReturnType<typeof startTunnel>> | undefined;
    if (!opts.directOnly) {
      const t0 = Date.now();
      tunnel = await startTunnel(opts.cli ?? CLI, logDir, origin.port, { policy: opts.policy, split: opts.split, haConnections: opts.haConnections });
      process.stdout.write(
        `tunnel ready in ${Date.now() - t0} ms: edge 127.0.0.1:${tunnel.listenPort} (pid ${String(tunnel.edge.proc.pid)}), ` +
          `agent pid ${String(tunnel.agent.proc.pid)}\n`,
      );
    } else {
      process.stdout.write('note: --direct-only: the tunnel path is not benchmarked\n');
    }

    // warm-up: both bodies, widest connection count, through the tunnel (or the origin with --direct-only)
    const warmPort = tunnel?.listenPort ?? origin.port;
    const warm = await runLoad({
      url: `http://127.0.0.1:${warmPort}`,
      connections: Math.max(...opts.connections),
      pipelining: opts.pipelining,
      durationS: WARMUP_S,
      ...(tunnel === undefined ? {} : { headers: { host: HOSTNAME, ...tunnelAuth } }),
      requests: BODIES.map((b) => ({ method: 'GET', path: b.path })),
      verifyBody: (body) => body === TINY_BODY || body === BODY_16K_TEXT,
    });
    process.stdout.write(`warm-up (${WARMUP_S} s, ${tunnel === undefined ? 'direct' : 'tunnel'}): ${fmt(warm.rps, 0)} req/s, errors ${warm.errors}\n`);
    if (warm.errors > 0) process.stdout.write(`warning: warm-up saw ${warm.errors} errors (${warm.firstError ?? JSON.stringify(warm.statusCodes)})\n`);
    checkChildren();

    const originPid = origin.child.proc.pid;
    const edgePid = tunnel?.edge.proc.pid;
    const agentPid = tunnel?.agent.proc.pid;

    for (const body of BODIES) {
      for (const connections of opts.connections) {
        const verifyBody = (b: string): boolean => b === body.text;
        let directRps = 0;
        for (const target of ['direct', 'tunnel'] as const) {
          if (target === 'tunnel' && tunnel === undefined) continue;
          await sleep(PAUSE_BETWEEN_RUNS_MS);
          checkChildren();
          const port = target === 'direct' ? origin.port : warmPort;
          if (target === 'tunnel') {
            if (!resetPeakRss(edgePid) || !resetPeakRss(agentPid)) rssScope = 'process_lifetime';
          }
          const cpuBefore = { origin: readCpuTicks(originPid), edge: readCpuTicks(edgePid), agent: readCpuTicks(agentPid) };
          const loadgenBefore = process.cpuUsage();
          const res = await runLoad({
            url: `http://127.0.0.1:${port}${body.path}`,
            connections,
            pipelining: opts.pipelining,
            durationS: opts.durationS,
            ...(target === 'tunnel' ? { headers: { host: HOSTNAME, ...tunnelAuth } } : {}),
            verifyBody,
          });
          const loadgen = process.cpuUsage(loadgenBefore);
          const cpuAfter = { origin: readCpuTicks(originPid), edge: readCpuTicks(edgePid), agent: readCpuTicks(agentPid) };
          if (target === 'direct') directRps = res.rps;
          const isTunnel = target === 'tunnel';
          const record: RunRecord = {
            target,
            body: body.name,
            connections,
            rps: round(res.rps, 1),
            p50_ms: round(res.p50Ms, 3),
            p99_ms: round(res.p99Ms, 3),
            errors: res.errors,
            ratio_to_direct: isTunnel ? (directRps > 0 ? round(res.rps / directRps, 3) : null) : 1,
            cpu_ms_per_1k: {
              edge: isTunnel ? cpuPer1k(cpuBefore.edge, cpuAfter.edge, res.requests) : 0,
              agent: isTunnel ? cpuPer1k(cpuBefore.agent, cpuAfter.agent, res.requests) : 0,
              origin: cpuPer1k(cpuBefore.origin, cpuAfter.origin, res.requests),
            },
            peak_rss_mb: {
              edge: isTunnel ? kibToMiB(readPeakRssKiB(edgePid)) : 0,
              agent: isTunnel ? kibToMiB(readPeakRssKiB(agentPid)) : 0,
            },
            loadgen_cpu_ms_per_1k: res.requests > 0 ? round((loadgen.user + loadgen.system) / 1000 / (res.requests / 1000), 3) : 0,
            failed: res.errors > 0 || res.requests === 0,
            requests: res.requests,
            error_breakdown: res.breakdown,
            status_codes: res.statusCodes,
            ...(res.firstError === undefined ? {} : { first_error: res.firstError }),
          };
          runs.push(record);
          process.stdout.write(`${describeRun(record)}\n`);
        }
      }
    }
    checkChildren();
  } catch (err) {
    if (err instanceof Interrupted) {
      harnessError = 'interrupted';
      exitCode = 130;
      process.stderr.write('\nbench: interrupted, stopping children\n');
    } else {
      harnessError = err instanceof Error ? err.message : String(err);
      exitCode = 1;
      process.stderr.write(`\nbench: FAILED: ${harnessError}\nchild logs:\n${logPathsText() || `  (none) ${logDir}`}\n`);
    }
  } finally {
    await stopAllChildren();
  }

  const failedRuns = runs.filter((r) => r.failed);
  if (runs.length > 0) {
    process.stdout.write(`\n${renderTable(runs)}\n`);
    const out = {
      node: process.version,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      date: new Date().toISOString(),
      duration_s: opts.durationS,
      pipelining: opts.pipelining,
      connections: opts.connections,
      direct_only: opts.directOnly,
      policy: opts.policy,
      split: opts.split,
      ha_connections: opts.haConnections ?? 4,
      peak_rss_scope: opts.directOnly ? null : rssScope,
      ok: harnessError === undefined && failedRuns.length === 0,
      ...(harnessError === undefined ? {} : { error: harnessError }),
      runs,
    };
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    const file = path.join(RESULTS_DIR, 'latest.json');
    // write-then-rename so a reader never sees a half-written file (bench/results/*.tmp is git-ignored)
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(out, null, 2)}\n`);
    fs.renameSync(tmp, file);
    process.stdout.write(`\nresults: ${path.relative(process.cwd(), file) || file}\n`);
  }
  if (failedRuns.length > 0) {
    process.stderr.write(
      `bench: ${failedRuns.length} run(s) failed: ${failedRuns.map((r) => `${r.target}/${r.body}/c${r.connections}`).join(', ')}\nchild logs:\n${logPathsText()}\n`,
    );
    if (exitCode === 0) exitCode = 1;
  }
  if (exitCode === 0 && !opts.keepLogs) {
    fs.rmSync(logDir, { recursive: true, force: true });
  } else {
    process.stdout.write(`child logs kept in ${logDir}\n`);
  }
  return exitCode;
}

let firstSignalAt: number | undefined;
function onSignal(sig: NodeJS.Signals): void {
  // Ctrl-C under `npx tsx` arrives twice (the terminal's SIGINT plus the copy tsx relays): only a signal well
  // after the first one means "stop waiting for a clean shutdown"
  if (firstSignalAt !== undefined) {
    if (Date.now() - firstSignalAt < 1000) return;
    process.stderr.write(`bench: second ${sig}, killing children\n`);
    killAllChildrenNow();
    process.exit(130);
  }
  firstSignalAt = Date.now();
  interrupted = true;
  currentLoad?.stop();
  buildProc?.kill('SIGTERM');
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// last resort: never leave children behind, whatever ends this process
process.on('exit', killAllChildrenNow);

main().then(
  (code) => {
    process.exitCode = code;
    // autocannon and stray sockets can keep the loop alive for a moment; do not wait for them
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err: unknown) => {
    process.stderr.write(`bench: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    killAllChildrenNow();
    process.exit(1);
  },
);
