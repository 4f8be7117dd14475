/**
 * Bench origin: a plain node:http server on 127.0.0.1, port chosen by the OS.
 * Prints {"port":N} as one JSON line on stdout once it listens.
 *
 *   GET /tiny -> 200 "ok" (2 bytes)
 *   GET /16k  -> 200 with a fixed 16384-byte body
 *
 * Flags: --port N (default 0), --exit-on-stdin-close (used by bench/run.ts so an orphaned origin goes away
 * when the runner dies).
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { BODY_16K, TINY_BODY } from './bodies.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'exit-on-stdin-close': { type: 'boolean', default: false },
  },
  strict: true,
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`origin: invalid --port ${String(values.port)}\n`);
  process.exit(2);
}

const TINY = Buffer.from(TINY_BODY, 'latin1');
const TINY_HEADERS = { 'content-type': 'text/plain', 'content-length': String(TINY.length) };
const BIG_HEADERS = { 'content-type': 'application/octet-stream', 'content-length': String(BODY_16K.length) };

const server = http.createServer({ noDelay: true }, (req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD', 'content-length': '0' });
    res.end();
    return;
  }
  switch (req.url) {
    case '/tiny':
      res.writeHead(200, TINY_HEADERS);
      res.end(req.method === 'HEAD' ? undefined : TINY);
      return;
    case '/16k':
      res.writeHead(200, BIG_HEADERS);
      res.end(req.method === 'HEAD' ? undefined : BODY_16K);
      return;
    default: {
      const body = 'not found\n';
      res.writeHead(404, { 'content-type': 'text/plain', 'content-length': String(body.length) });
      res.end(body);
    }
  }
});

// HTTP keep-alive stays on (node default); keep idle connections long enough that the agent's pool is not
// cut between bench runs (node's default is 5 s).
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;
server.maxRequestsPerSocket = 0;
server.on('clientError', (_err, socket) => {
  socket.destroy();
});

let closing = false;
function shutdown(): void {
  if (closing) return;
  closing = true;
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
if (values['exit-on-stdin-close']) {
  process.stdin.on('end', shutdown);
  process.stdin.on('error', shutdown);
  process.stdin.resume();
}

server.listen(port, '127.0.0.1', () => {
  const addr = server.address();
  if (addr === null || typeof addr === 'string') {
    process.stderr.write('origin: unexpected listen address\n');
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ port: addr.port })}\n`);
});
