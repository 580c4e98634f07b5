import type { ApiItem } from '../client/types.ts';
import { FormGuard } from './layout.tsx';
import { t } from './strings.ts';

/** A station as GET /stations gives it. */
export type StationRow = ApiItem<'GET /stations'>;

/**
 * The Users page's stations: whether this browser is one, a form that marks it, and every
 * station with its revocation (docs/console.md, Station mode).
 */
export function StationsCard(props: { stations: StationRow[]; names: Map<number, string>; here: { id: number; name: string } | undefined; csrf: string }) {
  const { stations, here, csrf } = props;
  return (
    <section class="card" aria-labelledby="stations-title" style="margin-top:1rem">
      <h2 id="stations-title">{t.station.stations}</h2>
      <p>{here ? t.station.thisBrowser(here.name) : t.station.notThisBrowser}</p>
      {!here && (
        <form method="post" action="/console/stations" class="actions">
          <FormGuard csrf={csrf} />
          <div>
            <label for="station-name">{t.station.stationName}</label>
            <input id="station-name" name="name" required maxlength={64} autocomplete="off" />
          </div>
          <button type="submit">{t.station.markStation}</button>
        </form>
      )}
      {stations.length === 0 ? (
        <p>{t.station.noStations}</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{t.station.stationName}</th>
              <th scope="col">{t.status}</th>
              <th scope="col">{t.actions}</th>
            </tr>
          </thead>
          <tbody>
            {stations.map((s) => (
              <tr data-station={s.id}>
                <td>
                  {s.name}
                  <br />
                  <small>{t.station.markedBy(props.names.get(s.created_by) ?? `#${s.created_by}`, s.created_at.slice(0, 10))}</small>
                </td>
                <td>{s.revoked_at ? <span class="status offline">{t.station.revoked}</span> : <span class="status running">{t.active}</span>}</td>
                <td>
                  {!s.revoked_at && (
                    <form method="post" action={`/console/stations/${s.id}/revoke`}>
                      <FormGuard csrf={csrf} />
                      <button type="submit" class="danger" aria-label={`${t.station.revoke} ${s.name}`}>
                        {t.station.revoke}
                      </button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
