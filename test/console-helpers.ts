import type { TestGateway } from './helpers/app.ts';

/** A browser-like session against the console in-process: keeps cookies, follows nothing. */
export class ConsoleAgent {
  private cookies = new Map<string, string>();
  constructor(private gw: TestGateway) {}

  async send(method: string, path: string, form?: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
    const h: Record<string, string> = { host: 'localhost', ...headers };
    const jar = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (jar) h.cookie = jar;
    let body: string | undefined;
    if (form) {
      h['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await this.gw.app.request(`http://localhost${path}`, { method, headers: h, body });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  get = (path: string) => this.send('GET', path);
  post = (path: string, form: Record<string, string>, headers?: Record<string, string>) => this.send('POST', path, form, headers);

  async signIn(username: string, password: string): Promise<Response> {
    return this.post('/console/login', { username, password });
  }

  /** The hidden fields of the first form whose action is `action` on the page at `path`. */
  async formFields(path: string, action: string): Promise<Record<string, string>> {
    const html = await (await this.get(path)).text();
    const at = html.indexOf(`action="${action}"`);
    if (at < 0) throw new Error(`no form ${action} on ${path}`);
    const form = html.slice(at, html.indexOf('</form>', at));
    const fields: Record<string, string> = {};
    for (const m of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) fields[m[1] ?? ''] = m[2] ?? '';
    return fields;
  }
}
