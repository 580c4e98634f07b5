#!/usr/bin/env python3
"""A pymodbus 3.0 Modbus TCP server with known values and switchable faults.

Used by test/modbus-pymodbus.test.ts to check the gateway's Modbus driver against a server it
did not write (pymodbus encodes nothing here: values are packed with struct, independently of
the gateway's codec). Needs pymodbus 3.0.x (Debian bookworm: apt-get install python3-pymodbus).

Usage: pymodbus_server.py --port 15020 [--units 1,7] [--single] [--control-port 15021] [--rules JSON]

Stdout: one line "READY <port> <control-port>" once listening (--control-port 0 picks a free one).

Control port: one JSON object per line, answered with one JSON line:
  {"cmd": "rules", "rules": [...]}      replace fault rules
  {"cmd": "set", "unit": 1, "area": "hr"|"ir"|"co"|"di", "address": 0, "values": [..]}
  {"cmd": "stats", "last": 50} / {"cmd": "reset_stats"}   requests, connections, gaps between connects
  {"cmd": "drop_all"}                   close every client connection (server keeps listening)
Rule: {"fc": 3, "start": 0, "end": 10, "unit": null,
       "action": "exception"|"delay"|"drop"|"silent"|"short", "code": 2, "ms": 0, "by": 1}
A rule matches a request whose [address, address+count) overlaps [start, end) (and fc/unit if given);
the first matching rule applies. "ms" delays the action (for "delay" it is the whole point).
"""
import argparse
import asyncio
import json
import logging
import struct
import sys

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server import StartAsyncTcpServer
from pymodbus.server.async_io import ModbusConnectedRequestHandler

N = 65536

# ---------------------------------------------------------------- known values
# Encoded here with struct, independently of the gateway's codec.


def words_from_be(b, order):
    """Big-endian bytes -> register words for byte order ABCD/CDAB/BADC/DCBA."""
    ws = [b[i:i + 2] for i in range(0, len(b), 2)]
    if order in ("BADC", "DCBA"):
        ws = [w[::-1] for w in ws]
    if order in ("CDAB", "DCBA"):
        ws = ws[::-1]
    return [struct.unpack(">H", w)[0] for w in ws]


def enc(value, typ, order="ABCD"):
    fmt = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "float32": ">f", "float64": ">d"}[typ]
    return words_from_be(struct.pack(fmt, value), order)


def enc_str(text, regs, order="ABCD"):
    b = text.encode("latin1").ljust(regs * 2, b"\0")
    ws = [b[i:i + 2] for i in range(0, len(b), 2)]
    if order in ("BADC", "DCBA"):
        ws = [w[::-1] for w in ws]
    return [struct.unpack(">H", w)[0] for w in ws]


ORDERS = ["ABCD", "CDAB", "BADC", "DCBA"]
HOLDING = {}  # address -> list of words
HOLDING[0] = enc(54321, "uint16")
HOLDING[1] = enc(-12345, "int16")
HOLDING[2] = enc(-123456789, "int32")
HOLDING[4] = enc(3000000000, "uint32")
for i, o in enumerate(ORDERS):
    HOLDING[10 + 2 * i] = enc(123.456, "float32", o)     # 10,12,14,16
    HOLDING[20 + 4 * i] = enc(-9876.54321, "float64", o)  # 20,24,28,32
    HOLDING[40 + 2 * i] = enc(-123456789, "int32", o)    # 40,42,44,46
    HOLDING[50 + 2 * i] = enc(3000000000, "uint32", o)   # 50,52,54,56
    HOLDING[60 + i] = enc(-2, "int16", o)                # 60..63
    HOLDING[64 + i] = enc(0x1234, "uint16", o)           # 64..67
HOLDING[70] = enc_str("PRESS-A", 5)          # 70..74, 10 chars, NUL padded
HOLDING[75] = enc_str("PRESS-A", 5, "BADC")  # 75..79 byte-swapped string
HOLDING[80] = enc(float("nan"), "float32")
HOLDING[82] = enc(21.5, "float32", "CDAB")
# 200..399: 100 adjacent float32 (value = index + 0.5) to check the 125-register limit
for k in range(100):
    HOLDING[200 + 2 * k] = enc(k + 0.5, "float32")
# 1000: state register
HOLDING[1000] = [1]

INPUT = {0: enc(-200, "int16"), 1: enc(452, "uint16"), 2: enc(-40.25, "float32", "CDAB")}
COILS = {a: True for a in (0, 2, 3, 7, 8, 15, 16, 19, 100, 2047)}
DISCRETE = {a: True for a in (1, 4, 5, 9, 14, 17, 18)}


def make_slave(unit):
    hr = [0] * N
    for a, ws in HOLDING.items():
        hr[a:a + len(ws)] = ws
    hr[1000] = unit  # lets a test see which unit answered
    ir = [0] * N
    for a, ws in INPUT.items():
        ir[a:a + len(ws)] = ws
    co = [False] * N
    for a in COILS:
        co[a] = True
    di = [False] * N
    for a in DISCRETE:
        di[a] = True
    return ModbusSlaveContext(
        hr=ModbusSequentialDataBlock(0, hr),
        ir=ModbusSequentialDataBlock(0, ir),
        co=ModbusSequentialDataBlock(0, co),
        di=ModbusSequentialDataBlock(0, di),
        zero_mode=True,
    )


# ---------------------------------------------------------------- faults
RULES = []
STATS = {"requests": 0, "connections": 0, "log": [], "by_fc": {}}
HANDLERS = set()


def match(req):
    a, c = req.address, getattr(req, "count", 1)
    for r in RULES:
        if r.get("fc") is not None and r["fc"] != req.function_code:
            continue
        if r.get("unit") is not None and r["unit"] != req.unit_id:
            continue
        if a < r.get("end", N) and a + c > r.get("start", 0):
            return r
    return None


class Handler(ModbusConnectedRequestHandler):
    def connection_made(self, transport):
        super().connection_made(transport)
        STATS["connections"] += 1
        STATS.setdefault("conn_t", []).append(round(asyncio.get_event_loop().time() * 1000))
        del STATS["conn_t"][:-200]
        HANDLERS.add(self)

    def connection_lost(self, exc):
        HANDLERS.discard(self)
        super().connection_lost(exc)

    def _reply(self, request, response):
        response.transaction_id = request.transaction_id
        response.unit_id = request.unit_id
        self.send(response)

    def execute(self, request, *addr):
        count = getattr(request, "count", 1)
        STATS["requests"] += 1
        fc = str(request.function_code)
        STATS["by_fc"][fc] = STATS["by_fc"].get(fc, 0) + 1
        STATS["log"].append([request.function_code, request.unit_id, request.address, count])
        del STATS["log"][:-500]
        rule = match(request)
        if rule is None:
            return super().execute(request, *addr)
        action = rule.get("action", "exception")

        def act():
            if self.transport is None or self.transport.is_closing():
                return
            if action == "delay":
                ModbusConnectedRequestHandler.execute(self, request, *addr)
            elif action == "exception":
                self._reply(request, request.doException(rule.get("code", 2)))
            elif action == "drop":
                self.transport.close()
            elif action == "silent":
                pass
            elif action == "short":
                response = request.execute(self.server.context[request.unit_id])
                by = rule.get("by", 1)
                if hasattr(response, "registers"):
                    response.registers = response.registers[: max(0, len(response.registers) - by)]
                elif hasattr(response, "bits"):
                    response.bits = response.bits[: max(0, count - by)]
                self._reply(request, response)

        ms = rule.get("ms", 0)
        if ms:
            asyncio.get_event_loop().call_later(ms / 1000, act)
        else:
            act()


# ---------------------------------------------------------------- control
def control_factory(context):
    async def on_client(reader, writer):
        while line := await reader.readline():
            try:
                msg = json.loads(line)
                cmd = msg.get("cmd")
                out = {"ok": True}
                if cmd == "rules":
                    RULES[:] = msg.get("rules", [])
                elif cmd == "set":
                    area = {"hr": 3, "ir": 4, "co": 1, "di": 2}[msg["area"]]
                    context[msg.get("unit", 1)].setValues(area, msg["address"], msg["values"])
                elif cmd == "stats":
                    out.update({k: STATS[k] for k in ("requests", "connections", "by_fc")})
                    out["open"] = len(HANDLERS)
                    ct = STATS.get("conn_t", [])
                    out["conn_gaps_ms"] = [b - a for a, b in zip(ct, ct[1:])]
                    last = msg.get("last", 50)
                    out["log"] = STATS["log"][-last:] if last else []
                elif cmd == "reset_stats":
                    STATS.update({"requests": 0, "connections": 0, "log": [], "by_fc": {}, "conn_t": []})
                elif cmd == "drop_all":
                    for h in list(HANDLERS):
                        h.transport.close()
                else:
                    out = {"ok": False, "error": f"unknown cmd {cmd}"}
            except Exception as exc:  # noqa: BLE001 - answered to the test
                out = {"ok": False, "error": repr(exc)}
            writer.write((json.dumps(out) + "\n").encode())
            await writer.drain()
        writer.close()

    return on_client


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=15020)
    p.add_argument("--control-port", type=int, default=0)
    p.add_argument("--units", default="1", help="comma-separated unit ids served")
    p.add_argument("--single", action="store_true", help="answer every unit id")
    p.add_argument("--rules", default="[]", help="JSON list of fault rules")
    p.add_argument("--debug", action="store_true", help="pymodbus debug log on stderr")
    args = p.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.CRITICAL)
    # pymodbus logs every closed connection as an ERROR on its own handler: quiet unless --debug.
    logging.getLogger("pymodbus").setLevel(logging.DEBUG if args.debug else logging.CRITICAL)
    RULES[:] = json.loads(args.rules)
    units = [int(u) for u in args.units.split(",") if u != ""]
    if args.single:
        context = ModbusServerContext(slaves=make_slave(units[0] if units else 1), single=True)
    else:
        context = ModbusServerContext(slaves={u: make_slave(u) for u in units}, single=False)
    ctl = await asyncio.start_server(control_factory(context), args.host, args.control_port)
    ctl_port = ctl.sockets[0].getsockname()[1]
    server = await StartAsyncTcpServer(
        context=context, address=(args.host, args.port), handler=Handler, defer_start=True, allow_reuse_address=True
    )
    task = asyncio.create_task(server.serve_forever())
    await server.serving
    print(f"READY {args.port} {ctl_port}", flush=True)
    await task


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
