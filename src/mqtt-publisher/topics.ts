/**
 * One topic level from a name: `+` and `#` are wildcards, `/` splits levels and control
 * characters confuse tools, so each becomes `_`; an empty name becomes `_` too.
 */
export function topicLevel(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is replaced
  const clean = name.replace(/[+#/\u0000-\u001f\u007f]/g, '_');
  return clean.length > 0 ? clean : '_';
}

/** The gateway's topic tree: `<prefix>/<site_id>/...` (the prefix may hold several levels). */
export function topicTree(prefix: string, siteId: number) {
  const base = `${prefix}/${siteId}`;
  return {
    reading: (machineName: string, readingType: string) => `${base}/machines/${topicLevel(machineName)}/${topicLevel(readingType)}`,
    event: (entityType: string) => `${base}/events/${topicLevel(entityType)}`,
    status: `${base}/gateway/status`,
  };
}

export type TopicTree = ReturnType<typeof topicTree>;
