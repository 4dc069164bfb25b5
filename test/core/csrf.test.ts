import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, buildTestApp, type TestApp } from '../helpers/build-app.js';

describe('CSRF on every POST route', () => {
  let t: TestApp;
  let b: Browser;
  beforeAll(async () => {
    t = await buildTestApp();
    b = new Browser(t.app);
    await b.login('admin', t.adminPassword);
  });
  afterAll(async () => t.close());

  it('the route table has the POST routes of the core and of every plugin', () => {
    const posts = t.app.routeTable.filter((r) => r.method === 'POST').map((r) => r.url);
    expect(posts).toEqual(expect.arrayContaining(['/login', '/logout', '/languages', '/system/password', '/system/ldap', '/snmp/install', '/snmp/remove', '/snmp/start', '/snmp/stop', '/snmp/restart', '/snmp']));
    for (const id of t.app.registry.ids) expect(posts).toContain(`/${id}/install`);
  });

  it('refuses every POST route without a token or with a wrong one, and runs nothing', async () => {
    const posts = t.app.routeTable.filter((r) => r.method === 'POST');
    expect(posts.length).toBeGreaterThan(10);
    for (const route of posts) {
      const url = route.url.replace(/:(\w+)/g, 'x');
      const missing = await b.post(url, { username: 'admin', password: t.adminPassword }, { withCsrf: false });
      expect(missing.statusCode, `${url} without token`).toBe(403);
      const wrong = await b.post(url, { _csrf: 'x'.repeat(b.csrf.length) }, { withCsrf: false });
      expect(wrong.statusCode, `${url} with a wrong token`).toBe(403);
    }
    expect(t.runner.calls).toEqual([]);
  });

  it('accepts the session token', async () => {
    await b.get('/languages');
    const ok = await b.post('/languages', { lang: 'ca', next: '/languages' });
    expect(ok.statusCode).toBe(303);
  });
});
