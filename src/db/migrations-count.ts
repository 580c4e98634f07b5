import { readFileSync } from 'node:fs';
import path from 'node:path';
import { MIGRATIONS_DIR } from './connection.ts';

/** How many migrations this build ships (drizzle-kit's journal). */
export const MIGRATION_COUNT: number = (JSON.parse(readFileSync(path.join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }).entries
  .length;
