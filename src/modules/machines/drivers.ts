import type { AppContext } from '../../context.ts';

/** Starts the field drivers declared in the device configuration (none configured: nothing runs). */
export async function startDrivers(ctx: AppContext) {
  const file = ctx.config.settings.devices_file;
  if (!file) return { name: 'drivers', stop: () => {} };
  throw new Error('devices_file: field drivers are not available in this build');
}
