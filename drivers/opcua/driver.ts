import {
  AttributeIds,
  ClientMonitoredItem,
  type ClientSession,
  type DataValue,
  DataChangeFilter,
  DataChangeTrigger,
  DeadbandType,
  makeBrowsePath,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
  UserTokenType,
} from 'node-opcua';
import type { OpcuaDevice, OpcuaTag } from '../config.ts';
import { createBackoff } from '../engine/backoff.ts';
import { type Driver, type DriverLogger, initialDriverState, type Quality, type Sample, type SampleSink } from '../engine/types.ts';

export interface OpcuaDriverDeps {
  sink: SampleSink;
  logger: DriverLogger;
  /** PKI folder: own certificate, trusted and rejected server certificates. */
  pkiDir: string;
  now?: () => number;
}

/** StatusCode → quality, with the code's name as reason when not good. */
export function qualityOf(dv: DataValue): { quality: Quality; reason: string | null } {
  const sc = dv.statusCode;
  if (sc.isGood()) return { quality: 'good', reason: null };
  if (sc.isBad()) return { quality: 'bad', reason: sc.name };
  return { quality: 'uncertain', reason: sc.name };
}

function numeric(value: unknown): number | string | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number')) {
    // Int64/UInt64 arrive as [high, low].
    return (value[0] as number) * 2 ** 32 + (value[1] as number);
  }
  return null;
}

/**
 * One OPC UA server. Prefers a subscription (sampling interval, absolute deadband) and falls back
 * to polling reads. Any loss of the connection tears the client down and rebuilds everything with
 * backoff — new secure channel, new session, node ids re-resolved (namespace indexes can change
 * when a server restarts), subscription and monitored items created again.
 */
export function createOpcuaDriver(device: OpcuaDevice, deps: OpcuaDriverDeps): Driver {
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ module: 'opcua', device: device.name });
  const backoff = createBackoff(device.reconnect.initial_ms, device.reconnect.max_ms);
  const state = initialDriverState(device.name, 'opcua', device.tags);
  const certificateManager = new OPCUACertificateManager({
    rootFolder: deps.pkiDir,
    automaticallyAcceptUnknownCertificate: device.trust_unknown_certificates,
  });

  let running = false;
  let client: OPCUAClient | undefined;
  let session: ClientSession | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let building = false;

  const emit = (samples: Sample[]) => {
    if (samples.length === 0) return;
    for (const s of samples) state.tagQuality.set(s.tag, s.quality);
    if (samples.some((s) => s.quality === 'good')) state.lastSuccessAt = now();
    state.lastPollAt = now();
    try {
      deps.sink(device.name, samples);
    } catch (err) {
      log.error({ err }, 'sample sink failed');
    }
  };

  const sampleOf = (tag: OpcuaTag, dv: DataValue): Sample => {
    const { quality, reason } = qualityOf(dv);
    const raw = numeric(dv.value?.value);
    const value = typeof raw === 'number' ? raw * tag.scale + tag.offset : raw;
    const ts = dv.sourceTimestamp?.getTime() ?? dv.serverTimestamp?.getTime() ?? now();
    if (quality !== 'bad' && (value === null || (typeof value === 'number' && !Number.isFinite(value)))) {
      return { tag: tag.name, value: null, quality: 'bad', reason: 'value is not a finite number', sourceTs: ts };
    }
    return { tag: tag.name, value: quality === 'bad' ? null : value, quality, reason, sourceTs: ts };
  };

  const allBad = (reason: string) => {
    const ts = now();
    emit(device.tags.filter((t) => state.tagQuality.get(t.name) !== 'bad').map((t) => ({ tag: t.name, value: null, quality: 'bad', reason, sourceTs: ts })));
  };

  const fail = (message: string) => {
    if (state.lastError !== message) log.warn({ error: message }, 'device error');
    state.lastError = message;
    state.lastErrorAt = now();
  };

  /** Resolves node ids, honouring namespace_uri and browse paths, on the current session. */
  const resolve = async (s: ClientSession): Promise<Map<string, string>> => {
    const nsArray = await s.readNamespaceArray();
    const ids = new Map<string, string>();
    for (const tag of device.tags) {
      const nsIndex = tag.namespace_uri ? nsArray.indexOf(tag.namespace_uri) : -1;
      if (tag.namespace_uri && nsIndex < 0) throw new Error(`tag ${tag.name}: namespace ${tag.namespace_uri} not on the server`);
      if (tag.node_id) {
        ids.set(tag.name, nsIndex >= 0 && !tag.node_id.startsWith('ns=') ? `ns=${nsIndex};${tag.node_id}` : tag.node_id);
        continue;
      }
      const segments = (tag.browse_path ?? '').split('/').filter(Boolean);
      const path = segments.map((seg, i) => (i === 0 || seg.includes(':') || nsIndex < 0 ? seg : `${nsIndex}:${seg}`)).join('/');
      const result = await s.translateBrowsePath(makeBrowsePath('RootFolder', `/${path}`));
      const target = result.targets?.[0]?.targetId;
      if (!result.statusCode.isGood() || !target) throw new Error(`tag ${tag.name}: browse path ${tag.browse_path} not found (${result.statusCode.name})`);
      ids.set(tag.name, target.toString());
    }
    return ids;
  };

  const subscribe = async (s: ClientSession, ids: Map<string, string>) => {
    const subscription = await s.createSubscription2({
      requestedPublishingInterval: device.publishing_interval_ms,
      requestedLifetimeCount: 120,
      requestedMaxKeepAliveCount: 10,
      maxNotificationsPerPublish: 1000,
      publishingEnabled: true,
      priority: 10,
    });
    subscription.on('terminated', () => {
      if (running && session === s) void rebuild('subscription terminated');
    });
    for (const tag of device.tags) {
      const item = ClientMonitoredItem.create(
        subscription,
        { nodeId: ids.get(tag.name) ?? '', attributeId: AttributeIds.Value },
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
      item.on('changed', (dv: DataValue) => emit([sampleOf(tag, dv)]));
      item.on('err', (message: string) => {
        fail(`tag ${tag.name}: ${message}`);
        emit([{ tag: tag.name, value: null, quality: 'bad', reason: message, sourceTs: now() }]);
      });
    }
  };

  const poll = (s: ClientSession, ids: Map<string, string>) => {
    const nodes = device.tags.map((t) => ({ nodeId: ids.get(t.name) ?? '', attributeId: AttributeIds.Value }));
    const tick = async () => {
      if (!running || session !== s) return;
      const started = now();
      try {
        const values = await s.read(nodes);
        emit(device.tags.map((t, i) => sampleOf(t, values[i] as DataValue)));
        state.pollDurationMs = now() - started;
      } catch (err) {
        fail(`read: ${(err as Error).message}`);
        void rebuild('read failed');
        return;
      }
      pollTimer = setTimeout(tick, device.poll_interval_ms);
      pollTimer.unref?.();
    };
    void tick();
  };

  const teardown = async () => {
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = undefined;
    const c = client;
    const s = session;
    client = undefined;
    session = undefined;
    state.connected = false;
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
    allBad(reason);
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
      const ids = await resolve(s);
      if (device.mode === 'poll') poll(s, ids);
      else {
        try {
          await subscribe(s, ids);
        } catch (err) {
          // Some small servers have no (free) subscriptions: reading on a timer still works.
          log.warn({ err: (err as Error).message }, 'subscription refused; polling instead');
          poll(s, ids);
        }
      }
      state.connected = true;
      backoff.reset();
      log.info({ endpoint: device.endpoint, mode: device.mode }, 'connected');
      building = false;
    } catch (err) {
      building = false;
      fail(`connect: ${(err as Error).message.split('\n')[0]}`);
      allBad('not connected');
      await teardown();
      scheduleRetry();
    }
  };

  return {
    name: device.name,
    start() {
      if (running) return;
      running = true;
      void certificateManager.initialize().then(build, (err) => {
        fail(`pki: ${(err as Error).message}`);
      });
    },
    async stop() {
      running = false;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      await teardown();
    },
    state: () => state,
  };
}
