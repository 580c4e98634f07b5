import { type BlockList, isIP } from 'node:net';
import { parseProxyList } from '../core/proxy-list.ts';

/** Which peers may speak for the client in X-Forwarded-For (TRUST_PROXY, TRUSTED_PROXIES). */
export interface ProxyTrust {
  /** TRUST_PROXY: read X-Forwarded-For at all. */
  enabled: boolean;
  /** TRUSTED_PROXIES; undefined: only the direct peer is trusted (one proxy hop). */
  proxies: BlockList | undefined;
}

/** IPv4 peers of a dual-stack socket arrive as ::ffff:a.b.c.d; one spelling per address. */
export function normalizeAddress(address: string): string {
  const trimmed = address.trim();
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(trimmed) ? trimmed.slice(7) : trimmed;
}

/** Builds the trust settings from the config keys (validated at start-up by config.ts). */
export function proxyTrust(config: { trustProxy: boolean; trustedProxies: string[] }): ProxyTrust {
  const proxies = config.trustedProxies.length > 0 ? parseProxyList(config.trustedProxies) : undefined;
  return { enabled: config.trustProxy, proxies };
}

function trusted(list: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * The client's address. Each proxy appends the address it received the request from to
 * X-Forwarded-For, so only the right end can be believed: walk from the right past trusted
 * proxies and stop at the first address that is not one. Anything to its left was written by
 * the client itself and is ignored (a rotating forged value must not dodge the per-address limit).
 */
export function resolveClientAddress(peer: string | undefined, forwardedFor: string | undefined, trust: ProxyTrust): string {
  const direct = peer ? normalizeAddress(peer) : 'local';
  if (!trust.enabled || !forwardedFor) return direct;
  // With a list, a peer outside it is not our proxy: its header is the client's own words.
  if (trust.proxies && !trusted(trust.proxies, direct)) return direct;
  const hops = forwardedFor.split(',');
  let client = direct;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = normalizeAddress(hops[i] ?? '');
    // Not an address: stop at the last one a trusted proxy vouched for.
    if (isIP(hop) === 0) break;
    client = hop;
    if (!trust.proxies || !trusted(trust.proxies, hop)) break;
  }
  return client;
}
