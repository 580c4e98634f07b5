// BENCH_CPU_PROF=dir: a bench child profiles only what is being measured. The parent sends
// { profile: 'start' } before a measurement and { profile: 'stop', name } after it; the child writes
// dir/name.cpuprofile (open it in Chrome DevTools, or summarise it with bench/profile-summary.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';

type ProfileMessage = { profile: 'start' } | { profile: 'stop'; name: string };

/** In a bench child: answers the parent's profile requests (each with { profiled: name } when done). */
export function acceptProfileRequests(dir: string | undefined): void {
  if (!dir) return;
  const session = new Session();
  session.connect();
  mkdirSync(dir, { recursive: true });
  process.on('message', (msg: ProfileMessage) => {
    if (msg.profile === 'start') {
      void session
        .post('Profiler.enable')
        .then(() => session.post('Profiler.start'))
        .then(() => process.send?.({ profiling: true }));
    } else if (msg.profile === 'stop') {
      void session.post('Profiler.stop').then(({ profile }) => {
        const file = path.join(dir, `${msg.name}.cpuprofile`);
        writeFileSync(file, JSON.stringify(profile));
        process.send?.({ profiled: file });
      });
    }
  });
}
