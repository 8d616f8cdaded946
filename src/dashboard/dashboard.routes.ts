import path from 'node:path';
import { Elysia } from 'elysia';
import { dashboardScript } from './bundle.ts';

const page = Bun.file(path.join(import.meta.dir, 'client/index.html'));
const styles = Bun.file(path.join(import.meta.dir, 'client/styles.css'));

/** The page may talk to its own origin only: no CDN, no third party, even by mistake. */
const CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const asset = (body: BodyInit, type: string) =>
  new Response(body, { headers: { 'content-type': type, 'cache-control': 'no-cache', 'content-security-policy': CSP, 'x-content-type-options': 'nosniff' } });

/** The operator dashboard: one HTML shell, its script and its styles. It uses the public API only. */
export function dashboardRoutes() {
  return new Elysia({ prefix: '/dashboard' })
    .get('', () => asset(page, 'text/html; charset=utf-8'), { detail: { hide: true } })
    .get('/app.js', async () => asset(await dashboardScript(), 'text/javascript; charset=utf-8'), { detail: { hide: true } })
    .get('/app.css', () => asset(styles, 'text/css; charset=utf-8'), { detail: { hide: true } });
}
