import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

/** Debian's chromium, driven by playwright-core (the browser suites skip without it unless CI is set). */
export const CHROMIUM = '/usr/bin/chromium';
/** A 10-inch tablet and a phone. */
export const SIZES = { tablet: { width: 1024, height: 768 }, phone: { width: 390, height: 844 } };

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

// Run in the page (the tests compile without the DOM's types, so these are plain script).
const SMALL_TARGETS = `(min) => {
  const name = (el) => {
    const text = (el.getAttribute('aria-label') || el.innerText || el.value || '').trim().slice(0, 40);
    const attrs = ['id', 'name', 'href', 'action'].map((a) => (el.getAttribute(a) ? '[' + a + '="' + el.getAttribute(a) + '"]' : '')).join('');
    return el.tagName.toLowerCase() + attrs + ' "' + text + '"';
  };
  return [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')]
    .filter((el) => el.checkVisibility({ visibilityProperty: true, contentVisibilityAuto: true }))
    .map((el) => ({ el, r: el.getBoundingClientRect() }))
    .filter(({ r }) => r.width > 0 && r.height > 0 && (r.width < min - 0.5 || r.height < min - 0.5))
    .map(({ el, r }) => name(el) + ': ' + Math.round(r.width) + '×' + Math.round(r.height));
}`;
const AXE_RUN = `async () => {
  const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
  return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
}`;

/** Every visible control smaller than `min` px either way, named so a failure says which. */
export function smallTargets(page: Page, min: number): Promise<string[]> {
  return page.evaluate(`(${SMALL_TARGETS})(${min})`);
}

/** axe-core's WCAG 2.1 A/AA rules on the page as it is; the serious and critical violations, described. */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const found: Array<{ id: string; impact: string | null; help: string; targets: string[] }> = await page.evaluate(`(${AXE_RUN})()`);
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id} (${v.help}): ${v.targets.join(', ')}`);
}

/** Standards mode, no control under 56 px on a tablet or 48 on a phone, no serious or critical axe violation. */
export async function audit(page: Page, what: string) {
  expect(await page.evaluate('document.compatMode'), `${what}: standards mode`).toBe('CSS1Compat');
  for (const [size, min] of [
    ['tablet', 56],
    ['phone', 48],
  ] as const) {
    await page.setViewportSize(SIZES[size]);
    expect(await smallTargets(page, min), `${what} (${size}): controls under ${min} px`).toEqual([]);
  }
  await page.setViewportSize(SIZES.tablet);
  expect(await axeViolations(page), `${what}: axe`).toEqual([]);
}

/** A call to a listening gateway's v1 API as a browser test's setup makes it: JSON in, the envelope's data out, a refusal thrown. */
export async function callApi(base: string, method: string, url: string, token: string, body?: unknown) {
  const res = await fetch(`${base}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as { data: Record<string, unknown> & { id: number } }).data : undefined;
}
