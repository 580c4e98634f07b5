import { BlockList, isIP } from 'node:net';

// TRUSTED_PROXIES is checked when the config loads (src/config.ts) and read by the HTTP layer
// (src/http/client-address.ts): one parser for both, so what start-up accepts is what is used.

/** Parses "10.0.0.5, 192.168.0.0/16, fd00::/8"; undefined for an entry that is neither address nor range. */
export function parseProxyList(entries: string[]): BlockList | undefined {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.trim().split('/');
    const family = isIP(address);
    if (family === 0 || extra !== undefined) return undefined;
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (prefix === undefined) {
      list.addAddress(address, type);
      continue;
    }
    const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : Number.NaN;
    if (!(bits >= 0 && bits <= (family === 6 ? 128 : 32))) return undefined;
    list.addSubnet(address, bits, type);
  }
  return list;
}
