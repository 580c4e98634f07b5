import { Layout } from '../layout.tsx';
import type { Flash } from '../session.ts';
import { t } from '../strings.ts';

function PasswordForm(props: { username?: string | undefined; focus: boolean }) {
  return (
    <form method="post" action="/console/login" class="card" style="max-width:28rem">
      <label for="username">{t.username}</label>
      <input id="username" name="username" autocomplete="username" required value={props.username} autofocus={props.focus} />
      <label for="password">{t.password}</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required />
      <div class="actions">
        <button type="submit">{t.signIn}</button>
      </div>
    </form>
  );
}

/**
 * The sign-in page. On a station (a browser an admin marked) it offers badge and PIN first, with
 * the badge field focused for a reader that types the number and Enter; the password form stays
 * one tap away for supervisors.
 */
export function LoginPage(props: { flash: Flash | undefined; username?: string | undefined; station?: string | undefined }) {
  if (props.station === undefined) {
    return (
      <Layout title={t.signIn} flash={props.flash}>
        <PasswordForm username={props.username} focus />
      </Layout>
    );
  }
  return (
    <Layout title={t.signIn} flash={props.flash}>
      <form method="post" action="/console/login" class="card" style="max-width:28rem" aria-label={t.station.signInBadge}>
        <p>{t.station.scanBadge}</p>
        <label for="badge">{t.station.badge}</label>
        <input id="badge" name="badge" autocomplete="off" required maxlength={32} pattern="[A-Za-z0-9]{1,32}" autofocus />
        <label for="pin">{t.station.pin}</label>
        <input id="pin" name="pin" type="password" inputmode="numeric" autocomplete="off" required minlength={4} maxlength={8} pattern="[0-9]{4,8}" />
        <div class="actions">
          <button type="submit">{t.signIn}</button>
        </div>
      </form>
      <details open={props.username !== undefined}>
        <summary>{t.station.passwordInstead}</summary>
        <PasswordForm username={props.username} focus={false} />
      </details>
      <script src="/console/assets/station.js" defer />
    </Layout>
  );
}
