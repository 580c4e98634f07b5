import { describe, expect, it } from 'vitest';
import { PROTOCOLS } from '../drivers/protocols.ts';
import { MACHINE_SOURCES } from '../src/core/vocabulary.ts';

// MACHINE_SOURCES is written out in the core (which imports nothing), no longer derived from the
// driver registry; defineProtocol only accepts a source from it. This checks the other direction:
// no source is left over that no protocol (or `http`) feeds, as GET /machines would show it.
describe('the core vocabulary', () => {
  it('names as machine sources exactly `http` and the sources of the registered protocols', () => {
    expect([...MACHINE_SOURCES].sort()).toEqual([...new Set(['http', ...PROTOCOLS.map((p) => p.source)])].sort());
  });
});
