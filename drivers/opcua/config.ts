import { z } from 'zod';
import { deviceCommon, ms, tagCommon } from '../engine/device-schema.ts';

const opcuaTag = z
  .object({
    ...tagCommon,
    node_id: z.string().min(1).max(512).optional(),
    /** e.g. /Objects/Oven/Temperature; each segment may be prefixed `ns:` or use namespace_uri. */
    browse_path: z.string().min(2).max(512).optional(),
    namespace_uri: z.string().min(1).optional(),
    sampling_interval_ms: ms(0, 3_600_000).optional(),
  })
  .strict()
  .refine((t) => (t.node_id === undefined) !== (t.browse_path === undefined), { message: 'give exactly one of node_id or browse_path' });

export const opcuaSchema = z
  .object({
    ...deviceCommon,
    protocol: z.literal('opcua'),
    endpoint: z.string().regex(/^opc\.tcp:\/\/.+/, { message: 'must be an opc.tcp:// URL' }),
    mode: z.enum(['subscription', 'poll']).default('subscription'),
    security_mode: z.enum(['None', 'Sign', 'SignAndEncrypt']).default('SignAndEncrypt'),
    security_policy: z.enum(['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss']).default('Basic256Sha256'),
    /** Security mode None is refused unless this says so explicitly. */
    allow_insecure: z.boolean().default(false),
    /** Trust the server certificate on first use (only for commissioning; default off). */
    trust_unknown_certificates: z.boolean().default(false),
    username: z.string().optional(),
    password: z.string().optional(),
    publishing_interval_ms: ms(10, 60_000).default(500),
    tags: z.array(opcuaTag).min(1),
  })
  .strict()
  .superRefine((d, ctx) => {
    // OPC UA pairs them: no security means both None, a secured channel needs a real policy.
    // A half setting would otherwise fail only when the client connects.
    if ((d.security_mode === 'None') !== (d.security_policy === 'None')) {
      const path = d.security_mode === 'None' ? 'security_policy' : 'security_mode';
      ctx.addIssue({ code: 'custom', path: [path], message: 'security_mode None and security_policy None go together: set both or neither' });
    } else if (d.security_mode === 'None' && !d.allow_insecure) {
      ctx.addIssue({ code: 'custom', path: ['security_mode'], message: 'None is refused unless allow_insecure: true is set' });
    }
  });

export type OpcuaTag = z.output<typeof opcuaTag>;
export type OpcuaDevice = z.output<typeof opcuaSchema>;
