/**
 * The built-in demo origin `burrow demo` (and `npm start`) serves through the tunnel: a page that
 * shows what the origin received, so the tunnel's work (request id, X-Forwarded-*) is visible.
 */
import http from 'node:http'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'

export interface DemoOrigin { url: string, close: () => Promise<void> }

export async function startDemoOrigin (): Promise<DemoOrigin> {
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') {
      res.end('ok\n')
      return
    }
    const seen = {
      method: req.method,
      path: req.url,
      host: req.headers.host,
      requestId: req.headers['burrow-request-id'],
      forwardedFor: req.headers['x-forwarded-for'],
      forwardedProto: req.headers['x-forwarded-proto'],
      headers: req.headers,
    }
    if ((req.headers.accept ?? '').includes('text/html')) {
      res.setHeader('content-type', 'text/html; charset=utf-8')
      res.end(`<!doctype html><meta charset="utf-8"><title>Burrow demo</title>
<h1>Hello through the Burrow tunnel</h1>
<p>This page was served by a private origin on ${escapeHtml(String(server.address() === null ? '' : `127.0.0.1:${(server.address() as AddressInfo).port}`))}, reached only through the tunnel.</p>
<p>Request id: <code>${escapeHtml(String(seen.requestId ?? ''))}</code></p>
<pre>${escapeHtml(JSON.stringify(seen.headers, null, 2))}</pre>\n`)
      return
    }
    res.setHeader('content-type', 'text/plain; charset=utf-8')
    res.end(`Hello through the Burrow tunnel!\nrequest id: ${String(seen.requestId ?? '')}\n` +
      `method: ${String(seen.method)}\npath: ${String(seen.path)}\nhost: ${String(seen.host)}\n` +
      `x-forwarded-for: ${String(seen.forwardedFor)}\n`)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function escapeHtml (s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
