// `npm run sim`: the simulators the example device config (config/devices.example.yaml) talks to.
// A Modbus TCP server on 127.0.0.1:5020 and an OPC UA server on opc.tcp://127.0.0.1:4840 whose
// values move over time. Stop with Ctrl-C.
import { encodeRegisters } from '../../drivers/engine/codec.ts';
import { ModbusSim } from './modbus-sim.ts';
import { OpcuaSim } from './opcua-sim.ts';

const modbusPort = Number(process.env.SIM_MODBUS_PORT ?? 5020);
const opcuaPort = Number(process.env.SIM_OPCUA_PORT ?? 4840);

const modbus = new ModbusSim(modbusPort);
await modbus.start();
const opcua = new OpcuaSim(opcuaPort, { namespaceUri: 'urn:edge-gateway:simulator' });
await opcua.start();
process.stdout.write(`modbus sim on 127.0.0.1:${modbusPort}, opc ua sim on ${opcua.endpoint} (namespace ${opcua.namespaceUri})\n`);

let strokes = 0;
const tick = setInterval(() => {
  const t = Date.now() / 1000;
  strokes += 1;
  modbus.holding[0] = Math.floor(t / 30) % 4 === 2 ? 2 : 1;
  encodeRegisters(180 + 20 * Math.sin(t / 10), 'float32', 'ABCD').forEach((w, i) => {
    modbus.holding[2 + i] = w;
  });
  encodeRegisters(strokes, 'uint32', 'CDAB').forEach((w, i) => {
    modbus.holding[4 + i] = w;
  });
  modbus.input[0] = Math.round(10 * (45 + 3 * Math.sin(t / 20)));
  modbus.discrete[0] = Math.floor(t / 15) % 2 === 0;
  opcua.temperature = 160 + 5 * Math.sin(t / 15);
  opcua.count += 1;
}, 1000);

const stop = async () => {
  clearInterval(tick);
  await Promise.all([modbus.stop(), opcua.stop()]);
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
