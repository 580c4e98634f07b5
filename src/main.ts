import { buildContext, type ContextOverrides } from './bootstrap.ts';
import type { Config } from './config.ts';
import type { AppContext } from './context.ts';
import { newApp } from './app.ts';
import { newLegacyApp } from './legacy/app.ts';
import { type HttpServer, startHttpServer } from './http/server.ts';
import { readTlsPair, startRedirectServer } from './http/tls.ts';
import type { Logger } from './logger.ts';
import { generatePassword } from './modules/auth/password.ts';
import { createUser } from './modules/auth/service.ts';
import { hasNoUsers } from './modules/auth/users.ts';
import { startHousekeeping } from './modules/ops/housekeeping.ts';
import { startOee } from './modules/oee/worker.ts';
import { loadDeviceConfig, startDrivers } from './modules/machines/drivers.ts';
import { acquireRunLock } from './modules/backup/run-lock.ts';
import { createGatewaySync } from '../sync/index.ts';
import { startMqtt } from './mqtt-publisher/service.ts';
import { startSparkplug } from './sparkplug/service.ts';

/** A long-lived part of the process, started in order and stopped in reverse. */
export interface Service {
  name: string;
  stop(): Promise<void> | void;
}

export interface RunningGateway {
  ctx: AppContext;
  port: number;
  /** Port of the legacy (old FastAPI shapes) listener, when LEGACY_API_PORT is set. */
  legacyPort?: number;
  stop(): Promise<void>;
}

/** First start with no users: create an admin with ADMIN_PASSWORD or a generated one, shown once. */
export async function ensureInitialAdmin(ctx: AppContext, print: (line: string) => void): Promise<void> {
  if (!hasNoUsers(ctx)) return;
  const password = ctx.config.admin.password ?? generatePassword();
  const user = await createUser(ctx, { username: ctx.config.admin.username, password, role: 'admin' });
  ctx.logger.info({ user_id: user.id, username: user.username }, 'initial admin account created');
  if (!ctx.config.admin.password) {
    print(
      ['', '  Initial admin account (shown once; change it with POST /auth/password):', `    username: ${user.username}`, `    password: ${password}`, ''].join(
        '\n',
      ),
    );
  }
}

/** Starts everything in order: storage, first admin, readings writer, drivers, housekeeping, HTTP. */
export async function startGateway(config: Config, logger: Logger, opts: ContextOverrides & { print?: (line: string) => void } = {}): Promise<RunningGateway> {
  // Every configuration file is checked before the first side effect (database, first admin).
  const devices = loadDeviceConfig(config);
  if (config.tls) readTlsPair(config.tls);
  // Held for the process's life so `gateway restore` refuses while this gateway runs.
  const runLock = config.databasePath === ':memory:' ? undefined : acquireRunLock(config.databasePath);
  let ctx: AppContext;
  try {
    ctx = buildContext(config, logger, opts);
  } catch (err) {
    runLock?.release();
    throw err;
  }
  const started: Service[] = [
    { name: 'run-lock', stop: () => runLock?.release() },
    { name: 'storage', stop: () => ctx.store.close() },
  ];
  const stopAll = async () => {
    for (const part of started.reverse()) {
      try {
        await part.stop();
      } catch (err) {
        logger.error({ err, part: part.name }, 'stop failed');
      }
    }
    started.length = 0;
  };
  try {
    await ensureInitialAdmin(ctx, opts.print ?? ((line) => process.stdout.write(`${line}\n`)));
    // MQTT before the readings writer: stopped after it, so its last flush is still sent.
    started.push(await startMqtt(ctx));
    started.push(await startSparkplug(ctx));
    ctx.readings.start();
    started.push({ name: 'readings', stop: () => ctx.readings.stop() });
    const drivers = await startDrivers(ctx, devices);
    started.push(drivers);
    started.push(startHousekeeping(ctx));
    // After the drivers: their first statuses are stored before downtime records are looked at.
    started.push(startOee(ctx));
    const sync = createGatewaySync(ctx);
    if (sync) {
      sync.start();
      started.push(sync);
    }
    const { app } = newApp(ctx);
    const main = await startHttpServer(ctx, app.fetch);
    const listeners: HttpServer[] = [main];
    const { port } = main;
    started.push({ name: 'http', stop: main.stop });
    logger.info({ host: config.host, port, env: config.env, https: config.tls !== undefined }, 'gateway listening');
    // The old mobile app's port: a translation in front of the same v1 app, on the same server code.
    const legacy = config.legacyApiPort === undefined ? undefined : await startHttpServer(ctx, newLegacyApp(ctx, app.fetch).fetch, config.legacyApiPort);
    if (legacy) {
      listeners.push(legacy);
      started.push({ name: 'http-legacy', stop: legacy.stop });
      logger.info({ host: config.host, port: legacy.port }, 'legacy API listening');
    }
    // A renewed certificate is put in place and the process sent SIGHUP (systemctl reload): new
    // connections get it. Without TLS there is nothing to reload, and SIGHUP no longer ends the process.
    const reload = () => {
      if (!config.tls) logger.info('SIGHUP: nothing to reload (TLS_CERT_FILE is not set)');
      for (const l of listeners) l.reloadTls();
    };
    process.on('SIGHUP', reload);
    started.push({ name: 'sighup', stop: () => void process.off('SIGHUP', reload) });
    if (config.tls) {
      if (config.httpRedirectPort !== undefined) {
        const redirect = await startRedirectServer(config.host, config.httpRedirectPort, port, logger.child({ module: 'http' }));
        started.push({ name: 'http-redirect', stop: redirect.stop });
      }
    }
    return { ctx, port, ...(legacy ? { legacyPort: legacy.port } : {}), stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
