import type { ApiItem } from '../../src/client/types.ts';
import { legacyRoute } from '../../src/legacy/routes.ts';
import type { ObjectShape } from '../../src/legacy/shapes.ts';
import { stageShape, userShape } from '../../src/legacy/shapes.ts';

type Stage = ApiItem<'GET /stages'>;

/**
 * Compile-time checks (`npm run typecheck`) of the legacy listener's shapes: each is typed by its
 * v1 route's answer, so a key written again that v1 does not send is a build error. Never called.
 */
export function legacyShapeMistakes(): void {
  // @ts-expect-error a key the v1 stage does not have (misspelt)
  const misspelt: ObjectShape<Stage> = { old: ['stage_nme'], extra: [] };
  // @ts-expect-error only a string field can be rendered as plant time (qty_good is a number)
  const notATime: ObjectShape<Stage> = { old: ['qty_good'], extra: [], times: ['qty_good'] };
  // @ts-expect-error a nested shape must describe the nested resource (users are not history entries)
  const wrongNested: ObjectShape<ApiItem<'GET /issues'>> = { old: ['id'], extra: ['history'], nested: { history: userShape } };
  // @ts-expect-error a route's shape must be of that route's answer (a user shape for stages)
  legacyRoute('GET /workorders/{wo_id}/stages', userShape);
  // @ts-expect-error only a list route can be followed page by page
  legacyRoute('GET /workorders/{wo_id}', stageShape, 'last');
  // @ts-expect-error a path v1 does not register
  legacyRoute('GET /stages/{wos_id}/history', 'as-is');
  void [misspelt, notATime, wrongNested];
}
