import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { HttpEnv } from './types.ts';

const require = createRequire(import.meta.url);
const swaggerDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));

// Served from the installed package, not a CDN: the factory LAN may have no internet.
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Edge gateway API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui', persistAuthorization: true });</script>
</body></html>`;

/**
 * GET /openapi.json (generated from the zod schemas) and the interactive UI at /docs. Call after
 * every route is registered: the document is built and serialised once here, never per request.
 */
export function registerDocs(app: OpenAPIHono<HttpEnv>): void {
  const document = JSON.stringify(
    app.getOpenAPI31Document({
      openapi: '3.1.0',
      info: {
        title: 'Edge gateway API',
        version: '1.0.0',
        description: 'Work orders, stages, issues, metrics, machines and readings. Every response is an envelope (see docs/api.md).',
      },
    }),
  );
  app.get('/openapi.json', (c) => c.body(document, 200, { 'Content-Type': 'application/json; charset=utf-8' }));
  // One copy into a plain Uint8Array per asset, made on first use and answered from then on.
  const cache = new Map<string, Uint8Array<ArrayBuffer>>();
  app.get('/docs', (c) => c.html(PAGE));
  app.get('/docs/:asset', (c) => {
    const name = c.req.param('asset');
    const type = ASSETS[name];
    if (!type) return c.notFound();
    let body = cache.get(name);
    if (!body) {
      body = new Uint8Array(readFileSync(path.join(swaggerDir, name)));
      cache.set(name, body);
    }
    return c.body(body, 200, { 'Content-Type': type, 'Cache-Control': 'public, max-age=86400' });
  });
}
