import { Layout } from '../layout.tsx';
import type { Flash } from '../session.ts';
import { t } from '../strings.ts';

export function LoginPage(props: { flash: Flash | undefined; username?: string }) {
  return (
    <Layout title={t.signIn} flash={props.flash}>
      <form method="post" action="/console/login" class="card" style="max-width:28rem">
        <label for="username">{t.username}</label>
        <input id="username" name="username" autocomplete="username" required value={props.username} autofocus />
        <label for="password">{t.password}</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        <div class="actions">
          <button type="submit">{t.signIn}</button>
        </div>
      </form>
    </Layout>
  );
}
