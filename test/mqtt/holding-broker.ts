import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type Client, type PublishPacket } from 'aedes';

/**
 * An in-process aedes that can leave one client's packets unanswered: while held, a PUBLISH (other
 * than the gateway's status) is taken off the wire but neither delivered nor acknowledged, and a
 * SUBSCRIBE is never granted. That is the state of QoS 1 messages in flight when the connection
 * drops, which a proxy cut on a real broker only hits by chance. Always aedes: Mosquitto has no hook.
 */
export async function holdingBroker() {
  let holding: string | undefined;
  let holds: (packet: PublishPacket) => boolean = () => true;
  let held = 0;
  const clients = new Map<string, Client>();
  const broker = await Aedes.createBroker({
    authorizePublish: (client, packet, done) => {
      if (client?.id === holding && !packet.topic.endsWith('/gateway/status') && holds(packet)) {
        held++;
        return; // never answered: no PUBACK, no delivery
      }
      done(null);
    },
    authorizeSubscribe: (client, sub, done) => {
      if (client.id === holding) {
        held++;
        return; // never granted: no SUBACK
      }
      done(null, sub);
    },
  });
  broker.on('client', (client) => void clients.set(client.id, client));
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    /** From now on the client's packets (its PUBLISHes that `which` picks) get no answer; held() counts them. */
    hold: (clientId: string, which: (packet: PublishPacket) => boolean = () => true) => {
      holding = clientId;
      holds = which;
      held = 0;
    },
    held: () => held,
    /** Drops the client's TCP connection, as a network fault or a broker restart does; what it held is never answered. */
    cut: (clientId: string) => {
      holding = undefined;
      clients.get(clientId)?.conn.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => broker.close(() => resolve()));
      }),
  };
}

export type HoldingBroker = Awaited<ReturnType<typeof holdingBroker>>;
