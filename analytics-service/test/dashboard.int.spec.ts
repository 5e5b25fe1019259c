import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderPlaced } from '@shop/contracts';
import { openStream } from './dashboard-support';
import { apiRootOf } from '../src/dashboard/client/api';
import { startAnalytics, type AnalyticsUnderTest, message } from './support';

interface Notice {
  moved?: string[];
  projections: { name: string; position: number; head: number; lag: number; state: string }[];
}

/** The bundle without its trailing licence comments (which name the libraries' home pages). */
const withoutLicences = (js: string) => js.replace(/\/\*! Bundled license information:[\s\S]*\*\/\s*$/, '');

describe('dashboard: page and event stream (analytics-service in-process)', () => {
  let svc: AnalyticsUnderTest;
  let admin: string;

  beforeAll(async () => {
    // A long drain timeout: if open streams held the shutdown, the last test would time out rather than pass.
    svc = await startAnalytics('analytics_dashboard', { SHUTDOWN_TIMEOUT: '50s' });
    admin = await svc.token('admin');
  });
  afterAll(async () => {
    await svc?.stop();
  });

  describe('the page', () => {
    it('serves the HTML publicly, with a policy that loads nothing from another origin', async () => {
      const res = await fetch(`${svc.service.url}/dashboard`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'/);
      const html = await res.text();
      expect(html).toContain('<script type="module" src="/dashboard/app.js"></script>');
      expect(html).toContain('<link rel="stylesheet" href="/dashboard/app.css" />');
      expect(html).not.toMatch(/(src|href)="https?:/);
      expect((await fetch(`${svc.service.url}/dashboard/`)).status).toBe(200);
    });

    it("links its assets under the prefix a gateway stripped, and takes the API's root from its script's URL", async () => {
      const behind = await fetch(`${svc.service.url}/dashboard`, { headers: { 'x-forwarded-prefix': '/analytics' } });
      const html = await behind.text();
      expect(html).toContain('<script type="module" src="/analytics/dashboard/app.js"></script>');
      expect(html).toContain('<link rel="stylesheet" href="/analytics/dashboard/app.css" />');
      // A prefix that is not plain path segments is never echoed into the page.
      for (const bad of ['/a"><script>x</script>', '/analytics/../admin', 'analytics', '//evil.example']) {
        const page = await (await fetch(`${svc.service.url}/dashboard`, { headers: { 'x-forwarded-prefix': bad } })).text();
        expect(page, bad).toContain('<script type="module" src="/dashboard/app.js"></script>');
      }
      expect(apiRootOf('http://localhost:8080/analytics/dashboard/app.js')).toBe('/analytics');
      expect(apiRootOf('http://127.0.0.1:4005/dashboard/app.js')).toBe('');
    });

    it('serves the script bundled from node_modules, with no address to fetch anything from', async () => {
      const res = await fetch(`${svc.service.url}/dashboard/app.js`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      const js = await res.text();
      // Chart.js is inside (its licence block names it), and nothing refers to a CDN or any other URL.
      expect(js).toMatch(/Chart\.js v4\.6\.1/);
      expect(js).not.toMatch(/cdn/i);
      expect(withoutLicences(js)).not.toMatch(/https?:\/\//);
      expect(js).not.toMatch(/\bimport\s*\(/);
      expect(js.length).toBeGreaterThan(50_000);
    });

    it('serves the style sheet', async () => {
      const res = await fetch(`${svc.service.url}/dashboard/app.css`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/css; charset=utf-8');
      expect(await res.text()).toContain('.panel');
    });

    it('answers problems for what it does not serve', async () => {
      const missing = await fetch(`${svc.service.url}/dashboard/nope.js`);
      expect(missing.status).toBe(404);
      expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const post = await fetch(`${svc.service.url}/dashboard`, { method: 'POST' });
      expect(post.status).toBe(405);
      expect(post.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
      expect(post.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    });
  });

  describe('the event stream (/v1/stream)', () => {
    it('refuses a caller without a token (401) or without the admin role (403), as problems', async () => {
      const anonymous = await fetch(`${svc.service.url}/v1/stream`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const customer = await fetch(`${svc.service.url}/v1/stream`, { headers: { authorization: `Bearer ${await svc.token('customer')}` } });
      expect(customer.status).toBe(403);
      expect(customer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    });

    it('opens with the projections status, then announces the projections an archived event moved', async () => {
      const stream = await openStream(`${svc.service.url}/v1/stream`, admin);
      try {
        expect(stream.response.status).toBe(200);
        expect(stream.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
        const ready = JSON.parse((await stream.next((e) => e.event === 'ready')).data) as Notice;
        expect(ready.projections.map((p) => p.name)).toEqual(expect.arrayContaining(['order_funnel', 'live_orders']));

        const orderId = randomUUID();
        const published = await svc.publish([message(OrderPlaced, { orderId, customerId: 'c-live', lines: [{ sku: 'SKU-D1', quantity: 1 }], placedAt: new Date().toISOString(), channel: 'web' })]);
        await svc.waitConsumed(published);
        const [archived] = (await svc.store.readStream(`order-${orderId}`)) as { position: number }[];
        const moved = await stream.next((e) => {
          if (e.event !== 'changed') return false;
          const n = JSON.parse(e.data) as Notice;
          return n.projections.some((p) => p.name === 'live_orders' && p.position >= archived!.position);
        });
        const notice = JSON.parse(moved.data) as Notice;
        expect(notice.moved).toContain('live_orders');
        const live = await svc.get('/v1/orders/live?limit=5', admin);
        expect(live.json.items.map((o: { orderId: string }) => o.orderId)).toContain(orderId);
      } finally {
        stream.close();
      }
    });

    it('ends every open stream cleanly when the service stops, without waiting for the drain timeout', async () => {
      const streams = await Promise.all([openStream(`${svc.service.url}/v1/stream`, admin), openStream(`${svc.service.url}/v1/stream`, admin)]);
      await Promise.all(streams.map((s) => s.next((e) => e.event === 'ready')));
      await svc.service.stop();
      // true: the server ended the response; a connection destroyed at the drain timeout would read false.
      expect(await Promise.all(streams.map((s) => s.ended))).toEqual([true, true]);
      await expect(fetch(`${svc.service.url}/v1/stream`, { headers: { authorization: `Bearer ${admin}` } })).rejects.toThrow();
    });
  });
});
