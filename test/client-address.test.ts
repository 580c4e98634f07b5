import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { parseProxyList } from '../src/core/proxy-list.ts';
import { proxyTrust, resolveClientAddress } from '../src/http/client-address.ts';

const trust = (trustedProxies: string[] = [], trustProxy = true) => proxyTrust({ trustProxy, trustedProxies });

describe('client address', () => {
  it('ignores X-Forwarded-For unless TRUST_PROXY is on', () => {
    expect(resolveClientAddress('::ffff:192.168.1.20', '1.2.3.4', trust([], false))).toBe('192.168.1.20');
    expect(resolveClientAddress(undefined, undefined, trust([], false))).toBe('local');
  });

  it('trusts one hop without a list: the rightmost entry is the client', () => {
    expect(resolveClientAddress('127.0.0.1', '6.6.6.6, 203.0.113.9', trust())).toBe('203.0.113.9');
    expect(resolveClientAddress('127.0.0.1', undefined, trust())).toBe('127.0.0.1');
  });

  it('skips only the configured proxies from the right and never believes the left part', () => {
    const chain = trust(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);
    expect(resolveClientAddress('127.0.0.1', '6.6.6.6, 203.0.113.9, 10.1.2.3', chain)).toBe('203.0.113.9');
    expect(resolveClientAddress('127.0.0.1', '203.0.113.9, fd00::1', chain)).toBe('203.0.113.9');
    // Every hop is a proxy: the leftmost one is as far as anyone vouches.
    expect(resolveClientAddress('127.0.0.1', '10.0.0.9, 10.1.2.3', chain)).toBe('10.0.0.9');
    // A peer outside the list is not a proxy: its header is ignored.
    expect(resolveClientAddress('192.168.5.5', '10.0.0.9', chain)).toBe('192.168.5.5');
    // Garbage stops the walk at the last address a proxy vouched for.
    expect(resolveClientAddress('127.0.0.1', 'evil, 10.1.2.3', chain)).toBe('10.1.2.3');
  });

  it('refuses a bad TRUSTED_PROXIES entry, and the list without TRUST_PROXY, naming the key', () => {
    expect(parseProxyList(['10.0.0.0/33'])).toBeUndefined();
    expect(parseProxyList(['proxy.local'])).toBeUndefined();
    const base = { NODE_ENV: 'test', DATABASE_PATH: ':memory:' };
    expect(() => loadConfig({ ...base, TRUST_PROXY: 'true', TRUSTED_PROXIES: '10.0.0.1,nonsense' })).toThrow(/^TRUSTED_PROXIES: /);
    expect(() => loadConfig({ ...base, TRUSTED_PROXIES: '10.0.0.1' })).toThrow(ConfigError);
    expect(loadConfig({ ...base, TRUST_PROXY: 'true', TRUSTED_PROXIES: ' 10.0.0.1 , 172.16.0.0/12' }).trustedProxies).toEqual(['10.0.0.1', '172.16.0.0/12']);
  });
});
