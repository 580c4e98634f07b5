import type { OpenAPIHono } from '@hono/zod-openapi';
import { createConsole } from './console/index.tsx';
import type { AppContext } from './context.ts';
import { createHttpApp } from './http/app.ts';
import { registerDocs } from './http/openapi.ts';
import type { RouteInfo } from './http/route.ts';
import type { HttpEnv } from './http/types.ts';
import { createGuard } from './modules/auth/guard.ts';
import { registerAuthRoutes } from './modules/auth/routes.ts';
import { registerIssueRoutes } from './modules/issues/routes.ts';
import { registerMachineRoutes } from './modules/machines/routes.ts';
import { registerOeeRoutes } from './modules/oee/routes.ts';
import { registerOpsRoutes } from './modules/ops/routes.ts';
import { registerStageRoutes } from './modules/stages/routes.ts';
import { registerStationRoutes } from './modules/stations/routes.ts';
import { registerWorkOrderRoutes } from './modules/workorders/routes.ts';

export interface GatewayApp {
  app: OpenAPIHono<HttpEnv>;
  /** Every route with its access rule (the role-matrix test runs over it). */
  routes: RouteInfo[];
}

/** The gateway's HTTP app: every module's routes on the shared HTTP layer, then the docs. */
export function newApp(ctx: AppContext): GatewayApp {
  const router = createHttpApp(ctx, createGuard(ctx));
  registerOpsRoutes(router, ctx);
  registerAuthRoutes(router, ctx);
  registerStationRoutes(router, ctx);
  registerWorkOrderRoutes(router, ctx);
  registerStageRoutes(router, ctx);
  registerIssueRoutes(router, ctx);
  registerMachineRoutes(router, ctx);
  registerOeeRoutes(router, ctx);
  registerDocs(router.app);
  // The floor console: pages under /console that call this same app in-process (docs/console.md).
  router.app.route(
    '/',
    createConsole(ctx, (req, env) => router.app.request(req, undefined, env)),
  );
  return { app: router.app, routes: router.routes };
}
