import type { CommandIo } from './hq-sync-actions.ts';
import { type Config, ConfigError, loadConfig, readEnv } from '../config.ts';
import { promptHidden } from './prompt.ts';

/** Exit statuses, as README.md ("Commands") documents them. */
export const EXIT = { ok: 0, failed: 1, usage: 2, cancelled: 130 } as const;

/** A refusal: one line on stderr, exit status 1. */
export function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(EXIT.failed);
}

export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** The configuration, read when a command runs (never for --help); a bad value is one line. */
export function loadCliConfig(): Config {
  try {
    return loadConfig(readEnv(process.cwd(), process.env));
  } catch (err) {
    if (err instanceof ConfigError) fail(`config error: ${err.message}`);
    throw err;
  }
}

/** All of standard input, without its final line break. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/**
 * A new password: at a terminal typed twice without echo, piped otherwise (scripts, HQ tools).
 * Two different entries are refused.
 */
export async function readNewPassword(): Promise<string> {
  if (!process.stdin.isTTY) return readStdin();
  const [first, second] = await promptHidden(['password: ', 'repeat password: ']);
  if (first !== second) fail('passwords do not match; nothing was hashed');
  return first ?? '';
}

export const processIo: CommandIo = { out, fail, readStdin };
