import {
  AttributeIds,
  ClientMonitoredItem,
  type ClientSession,
  type ClientSubscription,
  type DataValue,
  DataChangeFilter,
  DataChangeTrigger,
  DeadbandType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
  UserTokenType,
} from 'node-opcua';
import { createBackoff } from '../engine/backoff.ts';
import { createDeviceState } from '../engine/device-state.ts';
import type { Driver, DriverDeps } from '../engine/types.ts';
import type { OpcuaDevice, OpcuaTag } from './config.ts';
import { resolveTag } from './resolve.ts';
import { toSample } from './sample.ts';

/** Where the values of resolved tags come from on one session: monitored items or the poll list. */
type Attach = (tag: OpcuaTag, nodeId: string) => void;

/**
 * One OPC UA server. Prefers a subscription (sampling interval, absolute deadband) and falls back
 * to polling reads. Any loss of the connection tears the client down and rebuilds everything with
 * backoff — new secure channel, new session, node ids re-resolved (namespace indexes can change
 * when a server restarts), subscription and monitored items created again. A tag whose node
 * cannot be resolved goes bad alone and is resolved again later, with backoff.
 */
export function createOpcuaDriver(device: OpcuaDevice, deps: DriverDeps): Driver {
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ module: 'opcua', device: device.name });
  const backoff = createBackoff(device.reconnect.initial_ms, device.reconnect.max_ms);
  const resolveBackoff = createBackoff(device.reconnect.initial_ms, device.reconnect.max_ms);
  const allTags = device.tags.map((t) => t.name);
  /** Set per session from the mode actually in use (see docs/machine_integration.md, Quality). */
  let staleAfterMs = 3 * device.poll_interval_ms;
  const state = createDeviceState({
    device: device.name,
    protocol: 'opcua',
    tags: allTags,
    sink: deps.sink,
    log,
    now,
    staleAfterMs: () => staleAfterMs,
    checkEveryMs: Math.max(20, Math.min(1000, device.poll_interval_ms, device.publishing_interval_ms)),
    onConnectedChange: deps.onConnectedChange,
  });
  const certificateManager = new OPCUACertificateManager({
    rootFolder: deps.pkiDir,
    automaticallyAcceptUnknownCertificate: device.trust_unknown_certificates,
  });

  let running = false;
  let client: OPCUAClient | undefined;
  let session: ClientSession | undefined;
  let attach: Attach | undefined;
  const unresolved = new Set<OpcuaTag>();
  let pollTimer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let resolveTimer: NodeJS.Timeout | undefined;
  let building = false;

  const sampleOf = (tag: OpcuaTag, dv: DataValue | undefined) => toSample(tag, dv, now);

  /** Resolves `tags` on session `s`; those that fail go bad with the reason and are tried again later. */
  const resolveAll = async (s: ClientSession, tags: OpcuaTag[]) => {
    const namespaces = await s.readNamespaceArray();
    for (const tag of tags) {
      const r = await resolveTag(s, namespaces, tag);
      if (session !== s) return;
      if (r.ok) {
        unresolved.delete(tag);
        attach?.(tag, r.nodeId);
      } else {
        unresolved.add(tag);
        state.fail(`tag ${tag.name}: ${r.reason}`);
        state.markBad([tag.name], r.reason);
      }
    }
    if (unresolved.size === 0) {
      resolveBackoff.reset();
      return;
    }
    if (resolveTimer) return;
    resolveTimer = setTimeout(() => {
      resolveTimer = undefined;
      if (running && session === s) resolveAll(s, [...unresolved]).catch((err) => void rebuild(`resolve: ${(err as Error).message}`));
    }, resolveBackoff.next());
    resolveTimer.unref?.();
  };

  const subscribe = async (s: ClientSession): Promise<Attach> => {
    // Ask the server to speak (changes or a keep-alive) at least once per poll interval, so an
    // unchanged value can be told from a silent server.
    const keepAlive = Math.min(1000, Math.max(1, Math.ceil(device.poll_interval_ms / device.publishing_interval_ms)));
    const subscription: ClientSubscription = await s.createSubscription2({
      requestedPublishingInterval: device.publishing_interval_ms,
      requestedLifetimeCount: Math.max(120, 3 * keepAlive),
      requestedMaxKeepAliveCount: keepAlive,
      maxNotificationsPerPublish: 1000,
      publishingEnabled: true,
      priority: 10,
    });
    staleAfterMs = 3 * subscription.publishingInterval * subscription.maxKeepAliveCount;
    subscription.on('keepalive', () => state.heard());
    subscription.on('received_notifications', () => state.heard());
    subscription.on('terminated', () => {
      if (running && session === s) void rebuild('subscription terminated');
    });
    return (tag, nodeId) => {
      const item = ClientMonitoredItem.create(
        subscription,
        { nodeId, attributeId: AttributeIds.Value },
        {
          samplingInterval: tag.sampling_interval_ms ?? tag.poll_interval_ms ?? device.poll_interval_ms,
          discardOldest: true,
          queueSize: 10,
          ...(tag.deadband > 0
            ? {
                filter: new DataChangeFilter({
                  trigger: DataChangeTrigger.StatusValue,
                  deadbandType: DeadbandType.Absolute,
                  deadbandValue: tag.deadband / (tag.scale || 1),
                }),
              }
            : {}),
        },
        TimestampsToReturn.Both,
      );
      item.on('changed', (dv: DataValue) => state.emit([sampleOf(tag, dv)]));
      item.on('err', (message: string) => {
        state.fail(`tag ${tag.name}: ${message}`);
        state.markBad([tag.name], message);
      });
    };
  };

  const poll = (s: ClientSession): Attach => {
    const list: Array<{ tag: OpcuaTag; nodeId: string }> = [];
    const tick = async () => {
      if (!running || session !== s) return;
      if (list.length > 0) {
        const started = now();
        try {
          const values = await s.read(list.map((e) => ({ nodeId: e.nodeId, attributeId: AttributeIds.Value })));
          if (session !== s) return;
          state.emit(list.map((e, i) => sampleOf(e.tag, values[i])));
          state.polled(started, true);
          // A read is due `interval` after the previous one answered: that is one period.
          staleAfterMs = 3 * (device.poll_interval_ms + (now() - started));
        } catch (err) {
          void rebuild(`read: ${(err as Error).message}`);
          return;
        }
      }
      pollTimer = setTimeout(tick, device.poll_interval_ms);
      pollTimer.unref?.();
    };
    staleAfterMs = 3 * device.poll_interval_ms;
    pollTimer = setTimeout(tick, 0);
    return (tag, nodeId) => list.push({ tag, nodeId });
  };

  const teardown = async () => {
    if (pollTimer) clearTimeout(pollTimer);
    if (resolveTimer) clearTimeout(resolveTimer);
    pollTimer = undefined;
    resolveTimer = undefined;
    attach = undefined;
    unresolved.clear();
    const c = client;
    const s = session;
    client = undefined;
    session = undefined;
    state.setConnected(false);
    if (s) await s.close(true).catch(() => {});
    if (c) await c.disconnect().catch(() => {});
  };

  const scheduleRetry = () => {
    if (!running || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void build();
    }, backoff.next());
    retryTimer.unref?.();
  };

  const rebuild = async (reason: string) => {
    if (building || !running) return;
    log.warn({ reason }, 'connection lost; rebuilding');
    state.fail(reason);
    state.markBad(allTags, reason);
    await teardown();
    scheduleRetry();
  };

  const build = async () => {
    if (building || !running) return;
    building = true;
    const c = OPCUAClient.create({
      applicationName: 'edge-gateway',
      endpointMustExist: false,
      securityMode: MessageSecurityMode[device.security_mode],
      securityPolicy: SecurityPolicy[device.security_policy],
      clientCertificateManager: certificateManager,
      connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
      keepSessionAlive: true,
      requestedSessionTimeout: 60_000,
      defaultSecureTokenLifetime: 600_000,
      transportTimeout: device.timeout_ms * 5,
    });
    try {
      client = c;
      c.on('start_reconnection', () => void rebuild('connection lost'));
      c.on('close', () => {
        if (client === c) void rebuild('connection closed');
      });
      await c.connect(device.endpoint);
      const identity = device.username ? { type: UserTokenType.UserName as const, userName: device.username, password: device.password ?? '' } : undefined;
      const s = await c.createSession(identity);
      session = s;
      s.on('keepalive_failure', () => void rebuild('session keep-alive failed'));
      if (device.mode === 'poll') attach = poll(s);
      else {
        try {
          attach = await subscribe(s);
        } catch (err) {
          // Some small servers have no (free) subscriptions: reading on a timer still works.
          log.warn({ err: (err as Error).message }, 'subscription refused; polling instead');
          attach = poll(s);
        }
      }
      await resolveAll(s, device.tags);
      state.setConnected(true);
      backoff.reset();
      log.info({ endpoint: device.endpoint, mode: device.mode, unresolved: unresolved.size }, 'connected');
      building = false;
    } catch (err) {
      building = false;
      state.fail(`connect: ${(err as Error).message.split('\n')[0]}`);
      state.markBad(allTags, 'not connected');
      await teardown();
      scheduleRetry();
    }
  };

  return {
    name: device.name,
    start() {
      if (running) return;
      running = true;
      state.startAging();
      void certificateManager.initialize().then(build, (err) => {
        state.fail(`pki: ${(err as Error).message}`);
      });
    },
    async stop() {
      running = false;
      state.stopAging();
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      await teardown();
    },
    status: () => state.status(),
  };
}
