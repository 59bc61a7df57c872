// A loopback server for Client ID Metadata Documents, for the tests that need a client
// identified by a URL. Every server it starts listens on 127.0.0.1 and is closed by the test.

import http from 'node:http';

/** A loopback server for Client ID Metadata Documents; `routes[path]` = (req, res) => void. */
export async function docServer(routes) {
  const hits = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url);
    const route = routes[req.url];
    if (route) return route(req, res);
    res.writeHead(404).end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  return { base, hits, close: () => { server.closeAllConnections?.(); return new Promise((r) => server.close(r)); } };
}

export function json(doc, headers = {}) {
  return (req, res) => { res.writeHead(200, { 'content-type': 'application/json', ...headers }); res.end(typeof doc === 'string' ? doc : JSON.stringify(doc)); };
}

