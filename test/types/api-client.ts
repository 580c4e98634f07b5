import type { ApiClient } from '../../src/client/client.ts';
import type { ApiItem } from '../../src/client/types.ts';

/**
 * Compile-time checks (`npm run typecheck`) of the typed client the console uses: each line marked
 * `@ts-expect-error` must fail to compile, so a shape written again with a wrong field type, a
 * path the app does not register, or a body or query the route does not take is a build error.
 * Never called; test/api-client.test.ts checks the route table against the app at run time.
 */
export async function clientMistakes(api: ApiClient): Promise<void> {
  const one = await api.get('/machines/{machine_id}', { params: { machine_id: 7 } });
  if (!one.ok) return;
  const machine = one.data;
  const where: string | null = machine.location;
  // @ts-expect-error a machine's location is nullable (the API's schema): it cannot be shown as a plain string
  const shown: string = machine.location;
  /** A shape written again in a console file, with the field type the API does not have. */
  interface StaleMachine {
    id: number;
    location: string;
  }
  // @ts-expect-error the API's machine is not that re-declared shape
  const stale: StaleMachine = machine;

  const list = await api.get('/machines', { query: { limit: 500 } });
  // @ts-expect-error a list route answers an array of items, not one
  const first: ApiItem<'GET /machines'> | undefined = list.ok ? list.data : undefined;

  // @ts-expect-error a path the app does not register
  await api.get('/machine');
  // @ts-expect-error a method the path does not take
  await api.delete('/machines');
  // @ts-expect-error a path parameter is required
  await api.get('/machines/{machine_id}');
  // @ts-expect-error a query key the route does not take
  await api.get('/machines', { query: { limt: 5 } });
  // @ts-expect-error a query value outside the route's enum
  await api.get('/issues', { query: { status: 'closed' } });
  // @ts-expect-error a body field of the wrong type (a user id is a number)
  await api.post('/stages/{wos_id}/assignments', { params: { wos_id: 1 }, body: { user_id: '3' } });
  // @ts-expect-error form fields passed on for the API to validate still have the body's names
  await api.post('/stages/{wos_id}/assignments', { params: { wos_id: 1 }, form: { user: '3' } });
  // @ts-expect-error a route that takes no body
  await api.post('/auth/logout', { body: {} });
  // @ts-expect-error the untyped call with a type argument is gone
  await api.call<StaleMachine[]>('GET', '/machines');

  const out = await api.post('/auth/logout');
  // @ts-expect-error a 204 answers no data
  const nothing: number = out.ok ? out.data.id : 0;
  void [where, shown, stale, first, nothing];
}
