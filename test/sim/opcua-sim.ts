import path from 'node:path';
import {
  DataType,
  DataValue,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAServer,
  SecurityPolicy,
  StatusCodes,
  type UAObject,
  Variant,
} from 'node-opcua';

/** A real node-opcua server with an Oven object: Temperature (Double), Count (Int32), Health. */
export class OpcuaSim {
  temperature = 20;
  /** How often the server has sampled Temperature (tests wait on it instead of sleeping). */
  temperatureSamples = 0;
  count = 0;
  healthBad = false;
  private server: OPCUAServer | undefined;
  private oven: UAObject | undefined;

  constructor(
    readonly port: number,
    readonly opts: {
      secure?: boolean;
      namespaceUri?: string;
      noSubscriptions?: boolean;
      /** Where its certificates go (PKI/ and UserPKI/ under it); default node-opcua's own, in ~/.config. */
      pkiDir?: string;
    } = {},
  ) {}

  get endpoint(): string {
    return `opc.tcp://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const secure = this.opts.secure ?? false;
    const pki = this.opts.pkiDir;
    const manager = (root: string, name: string) =>
      new OPCUACertificateManager({ rootFolder: path.join(root, name), automaticallyAcceptUnknownCertificate: true });
    const server = new OPCUAServer({
      port: this.port,
      // `host` is where it listens (node-opcua's default is every interface), `hostname` what its
      // endpoint URL says.
      host: '127.0.0.1',
      hostname: '127.0.0.1',
      ...(pki ? { serverCertificateManager: manager(pki, 'PKI'), userCertificateManager: manager(pki, 'UserPKI') } : {}),
      securityModes: secure ? [MessageSecurityMode.SignAndEncrypt] : [MessageSecurityMode.None],
      securityPolicies: secure ? [SecurityPolicy.Basic256Sha256] : [SecurityPolicy.None],
      allowAnonymous: true,
      serverInfo: { applicationUri: this.opts.namespaceUri ?? 'urn:test:oven' },
      // One subscription for the whole server: a test takes it to make the next client fall back.
      ...(this.opts.noSubscriptions ? { serverCapabilities: { maxSubscriptions: 1, maxSubscriptionsPerSession: 1 } } : {}),
    });
    await server.initialize();
    const space = server.engine.addressSpace;
    if (!space) throw new Error('no address space');
    const ns = space.getOwnNamespace();
    const oven = ns.addObject({ organizedBy: space.rootFolder.objects, browseName: 'Oven' });
    ns.addVariable({
      componentOf: oven,
      browseName: 'Temperature',
      nodeId: 's=Temperature',
      dataType: 'Double',
      minimumSamplingInterval: 50,
      value: {
        get: () => {
          this.temperatureSamples++;
          return new Variant({ dataType: DataType.Double, value: this.temperature });
        },
      },
    });
    ns.addVariable({
      componentOf: oven,
      browseName: 'Count',
      nodeId: 's=Count',
      dataType: 'Int32',
      minimumSamplingInterval: 50,
      value: { get: () => new Variant({ dataType: DataType.Int32, value: this.count }) },
    });
    ns.addVariable({
      componentOf: oven,
      browseName: 'Health',
      nodeId: 's=Health',
      dataType: 'Double',
      minimumSamplingInterval: 50,
      value: {
        timestamped_get: () =>
          new DataValue({
            value: new Variant({ dataType: DataType.Double, value: 1 }),
            statusCode: this.healthBad ? StatusCodes.BadSensorFailure : StatusCodes.Good,
            sourceTimestamp: new Date(),
            serverTimestamp: new Date(),
          }),
      },
    });
    await server.start();
    this.server = server;
    this.oven = oven;
  }

  /** Adds a Double variable under Oven while the server runs (a PLC program download adds tags). */
  addVariable(browseName: string, value: number): void {
    const space = this.server?.engine.addressSpace;
    if (!space || !this.oven) throw new Error('server not started');
    space.getOwnNamespace().addVariable({
      componentOf: this.oven,
      browseName,
      dataType: 'Double',
      minimumSamplingInterval: 50,
      value: { get: () => new Variant({ dataType: DataType.Double, value }) },
    });
  }

  get namespaceUri(): string {
    return this.server?.engine.addressSpace?.getOwnNamespace().namespaceUri ?? '';
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await s.shutdown(0);
  }
}
