// The peer: what a developer would build with Cloudflare's own TypeScript stack.
// `@cloudflare/workers-oauth-provider` guards `/mcp` (it reads its token from KV on every
// request), and the `agents` package's stateless `createMcpHandler` serves the MCP SDK's
// `McpServer` with the same `echo` tool as this project. Authorization completes at once for a
// fixed bench user: the benchmark measures the authenticated request path, not the login.

import { OAuthProvider } from '@cloudflare/workers-oauth-provider';
import { createMcpHandler } from 'agents/mcp';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';

function server() {
  const s = new McpServer({ name: 'peer', version: '1.0.0' });
  s.registerTool(
    'echo',
    { description: 'Returns the message it is given, and its length.', inputSchema: { message: z.string() } },
    async ({ message }) => ({
      content: [{ type: 'text', text: JSON.stringify({ message, length: message.length }) }],
      structuredContent: { message, length: message.length },
    }),
  );
  return s;
}

const apiHandler = {
  fetch: (request, env, ctx) => createMcpHandler(server())(request, env, ctx),
};

const defaultHandler = {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === '/authorize') {
      const oauthReq = await env.OAUTH_PROVIDER.parseAuthRequest(request);
      const { redirectTo } = await env.OAUTH_PROVIDER.completeAuthorization({
        request: oauthReq,
        userId: 'bench-user',
        metadata: {},
        scope: oauthReq.scope,
        props: { user: 'bench-user' },
      });
      return Response.redirect(redirectTo, 302);
    }
    return new Response('not found', { status: 404 });
  },
};

// The provider wants its resource URL up front; the bench picks the port at run time, so it is
// built on the first request.
let provider;

export default {
  fetch(request, env, ctx) {
    provider ??= new OAuthProvider({
      apiRoute: '/mcp',
      apiHandler,
      defaultHandler,
      authorizeEndpoint: '/authorize',
      tokenEndpoint: '/token',
      clientRegistrationEndpoint: '/register',
      resourceMetadata: { resource: new URL('/mcp', request.url).href },
    });
    return provider.fetch(request, env, ctx);
  },
};
