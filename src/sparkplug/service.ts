import { Counter, Gauge } from 'prom-client';
import { backlog } from '../../sync/outbox.ts';
import type { AppContext } from '../context.ts';
import { publisherStatusEntry } from '../mqtt-publisher/service.ts';
import type { EdgeNode, EdgeNodeOptions } from './edge-node.ts';
import { setSparkplugQueueing } from './queue.ts';

function registerMetrics(ctx: AppContext, node: EdgeNode): void {
  const registers = [ctx.metrics.registry];
  new Gauge({
    name: 'gateway_sparkplug_online',
    help: 'Sparkplug edge node connected and born (NBIRTH published, primary host online) (1) or not (0)',
    registers,
    collect() {
      this.set(node.status().born ? 1 : 0);
    },
  });
  new Gauge({
    name: 'gateway_sparkplug_queue_depth',
    help: 'Readings waiting in the Sparkplug store-and-forward queue',
    registers,
    collect() {
      this.set(node.status().queueDepth);
    },
  });
  new Counter({
    name: 'gateway_sparkplug_published_total',
    help: 'Sparkplug messages acknowledged by the broker (PUBACK)',
    registers,
    collect() {
      this.reset();
      this.inc(node.status().published);
    },
  });
}

/**
 * Starts the Sparkplug B edge node when MQTT_SPARKPLUG=true; otherwise its queue trigger is off, so
 * nothing grows. Machine events tell it when a driver lost or found a device (DDEATH / DBIRTH).
 */
export async function startSparkplug(ctx: AppContext, opts: EdgeNodeOptions = {}): Promise<{ name: string; node?: EdgeNode; stop(): Promise<void> }> {
  const sp = ctx.config.sparkplug;
  const mqtt = ctx.config.mqtt;
  if (!sp || !mqtt) {
    setSparkplugQueueing(ctx.store.sqlite, false);
    return { name: 'sparkplug', stop: async () => {} };
  }
  const { createEdgeNode } = await import('./edge-node.ts');
  const sqlite = ctx.store.sqlite;
  const node = createEdgeNode({ sqlite, logger: ctx.logger, syncBacklog: () => backlog(sqlite).count }, mqtt, sp, ctx.config.settings.mqtt, opts);
  registerMetrics(ctx, node);
  ctx.statusBoard.addPublisher(() => {
    const s = node.status();
    // connected: born (NBIRTH out, primary host online), what a Sparkplug host sees.
    return publisherStatusEntry('sparkplug-edge-node', 'sparkplug', { ...s, connected: s.born });
  });
  const unsubscribe = ctx.bus.subscribe((event) => {
    if (event.entityType === 'machine' && event.toStatus !== event.fromStatus) node.machineChanged(event.entityId);
    else node.nudge();
  });
  node.start();
  ctx.logger.info({ group_id: sp.groupId, edge_node_id: sp.edgeNodeId, primary_host_id: sp.primaryHostId }, 'sparkplug edge node started');
  return {
    name: 'sparkplug',
    node,
    stop: async () => {
      unsubscribe();
      await node.stop();
    },
  };
}
