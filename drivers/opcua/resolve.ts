import { type ClientSession, makeBrowsePath } from 'node-opcua';
import type { OpcuaTag } from './config.ts';

type Resolved = { ok: true; nodeId: string } | { ok: false; reason: string };

/**
 * Turns a tag's node_id or browse_path into a node id on this session. `namespace_uri` is looked
 * up in the server's namespace array (it can change when a server restarts): with a node_id that
 * has no `ns=`, the index is put in front; in a browse path, every segment after the first that
 * has no `n:` prefix gets it. One tag failing does not stop the others.
 */
export async function resolveTag(session: ClientSession, namespaces: string[], tag: OpcuaTag): Promise<Resolved> {
  const nsIndex = tag.namespace_uri ? namespaces.indexOf(tag.namespace_uri) : -1;
  if (tag.namespace_uri && nsIndex < 0) return { ok: false, reason: `namespace ${tag.namespace_uri} not on the server` };
  if (tag.node_id) return { ok: true, nodeId: nsIndex >= 0 && !tag.node_id.startsWith('ns=') ? `ns=${nsIndex};${tag.node_id}` : tag.node_id };
  const segments = (tag.browse_path ?? '').split('/').filter(Boolean);
  const path = segments.map((seg, i) => (i === 0 || seg.includes(':') || nsIndex < 0 ? seg : `${nsIndex}:${seg}`)).join('/');
  const result = await session.translateBrowsePath(makeBrowsePath('RootFolder', `/${path}`));
  const target = result.targets?.[0]?.targetId;
  if (!result.statusCode.isGood() || !target) return { ok: false, reason: `browse path ${tag.browse_path} not found (${result.statusCode.name})` };
  return { ok: true, nodeId: target.toString() };
}
