import type { Database } from 'better-sqlite3';
import type { Role } from '../../core/vocabulary.ts';
import type { users } from '../schema.ts';
import { type ColumnList, insertStatement, selectList } from './columns.ts';

/** A row of users under drizzle's property names (`active` a boolean). */
export type UserRow = typeof users.$inferSelect;

/** users, in table order. */
export const USER_COLUMNS = {
  id: 'id',
  username: 'username',
  passwordHash: 'password_hash',
  role: 'role',
  active: 'active',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  legacyId: 'legacy_id',
} as const satisfies ColumnList<UserRow>;

const ROW = selectList(USER_COLUMNS);

/** SQLite stores `active` as 0/1; drizzle's row (and everyone after it) has a boolean. */
type StoredUser = Omit<UserRow, 'active'> & { active: number };
const toRow = (r: StoredUser | undefined): UserRow | undefined => r && { ...r, active: r.active === 1 };

/** The user reads. */
export function userReads(sqlite: Database) {
  const byId = sqlite.prepare<[number], StoredUser>(`SELECT ${ROW} FROM users WHERE id = ?`);
  // Usernames are unique case-insensitively (the users_username_lower index).
  const byName = sqlite.prepare<[string], StoredUser>(`SELECT ${ROW} FROM users WHERE lower(username) = lower(?)`);
  const page = sqlite.prepare<[number, number], StoredUser>(`SELECT ${ROW} FROM users WHERE id > ? ORDER BY id LIMIT ?`);
  const activeWorkers = sqlite.prepare<[number, number], { id: number; username: string }>(
    "SELECT id, username FROM users WHERE role = 'worker' AND active = 1 AND id > ? ORDER BY id LIMIT ?",
  );
  const otherActiveAdmins = sqlite.prepare<[number], number>("SELECT count(*) FROM users WHERE role = 'admin' AND active = 1 AND id <> ?").pluck();
  const count = sqlite.prepare<[], number>('SELECT count(*) FROM users').pluck();
  return {
    byId: (id: number): UserRow | undefined => toRow(byId.get(id)),
    /** The user of that name, whatever its case. */
    byName: (username: string): UserRow | undefined => toRow(byName.get(username)),
    /** Up to `limit` users after id `after`, by id. */
    page: (after: number[] | undefined, limit: number): UserRow[] => page.all(after?.[0] ?? -1, limit).map((r) => toRow(r) as UserRow),
    /** Up to `limit` active workers after id `after`, by id: only what an assignment form needs. */
    activeWorkers: (after: number[] | undefined, limit: number) => activeWorkers.all(after?.[0] ?? -1, limit),
    /** How many active admins there are besides this user. */
    otherActiveAdmins: (userId: number): number => otherActiveAdmins.get(userId) ?? 0,
    count: (): number => count.get() ?? 0,
  };
}

/** A new user (the schema's insert type: nullable columns and those with a default may be left out). */
export type NewUser = typeof users.$inferInsert;

/** The user writes, reachable only as `tx.users` (command.ts). */
export function userWrites(sqlite: Database, reads: UserReads) {
  // active is NOT NULL DEFAULT true in the schema.
  const insert = insertStatement<UserRow>(sqlite, 'users', USER_COLUMNS, { defaults: { active: true } });
  const setRole = sqlite.prepare<[string, number, number], StoredUser>(`UPDATE users SET role = ?, updated_at = ? WHERE id = ? RETURNING ${ROW}`);
  const setActive = sqlite.prepare<[number, number, number], StoredUser>(`UPDATE users SET active = ?, updated_at = ? WHERE id = ? RETURNING ${ROW}`);
  const setPassword = sqlite.prepare<[string, number, number]>('UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?');
  const replacePassword = sqlite.prepare<[string, number, number, string]>(
    'UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ? AND password_hash = ?',
  );
  return {
    ...reads,
    insert: (u: NewUser): void => void insert(u),
    /** The user after the change, or undefined when there is none. */
    setRole: (id: number, role: Role, updatedAt: number): UserRow | undefined => toRow(setRole.get(role, updatedAt, id)),
    setActive: (id: number, active: boolean, updatedAt: number): UserRow | undefined => toRow(setActive.get(active ? 1 : 0, updatedAt, id)),
    setPassword: (id: number, passwordHash: string, updatedAt: number): void => void setPassword.run(passwordHash, updatedAt, id),
    /** Sets the hash only if it is still `old` (a change made meanwhile wins); false otherwise. */
    replacePassword: (id: number, old: string, passwordHash: string, updatedAt: number): boolean =>
      replacePassword.run(passwordHash, updatedAt, id, old).changes > 0,
  };
}

export type UserReads = ReturnType<typeof userReads>;
export type UserWrites = ReturnType<typeof userWrites>;
