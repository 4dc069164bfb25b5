import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Browser, buildTestApp, type TestApp } from '../helpers/build-app.js';
import { SESSION_COOKIE, sealSession, unsealSession, newSession } from '../../src/core/session.js';
import { LoginThrottle } from '../../src/core/login-throttle.js';
import { hashPassword, verifyPassword, randomPassword } from '../../src/core/passwords.js';
import { safeNext } from '../../src/core/auth.js';
import { randomBytes } from 'node:crypto';

describe('first start and local admin', () => {
  let t: TestApp;
  beforeEach(async () => { t = await buildTestApp(); });
  afterEach(async () => t.close());

  it('creates the admin with a random password in a 0600 file and stores only a scrypt hash', async () => {
    const file = path.join(t.config.configDir, 'initial-admin-password');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(t.adminPassword).toMatch(/^[A-Za-z0-9]{20}$/);
    const admin = JSON.parse(readFileSync(path.join(t.config.configDir, 'admin.json'), 'utf8'));
    expect(admin.hash).toMatch(/^scrypt\$/);
    expect(JSON.stringify(admin)).not.toContain(t.adminPassword);
    expect(statSync(path.join(t.config.configDir, 'session.key')).mode & 0o777).toBe(0o600);
  });

  it('sends anonymous users to the login page and logs the admin in', async () => {
    const b = new Browser(t.app);
    const home = await b.get('/');
    expect(home.statusCode).toBe(303);
    expect(home.headers.location).toBe('/login?next=%2F');
    const login = await b.login('admin', t.adminPassword);
    expect(login.statusCode).toBe(303);
    expect(login.headers.location).toBe('/');
    const page = await b.get('/');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('data-testid="plugin-card-snmp"');
  });

  it('refuses a wrong password with a translated message and no session', async () => {
    const b = new Browser(t.app, 'es');
    const res = await b.login('admin', 'wrong-password');
    expect(res.statusCode).toBe(401);
    const es = JSON.parse(readFileSync('locales/es/common.json', 'utf8'));
    expect(res.body).toContain(es.login.invalid);
    expect((await b.get('/')).statusCode).toBe(303);
  });

  it('sets an HttpOnly SameSite session cookie that is encrypted', async () => {
    const b = new Browser(t.app);
    await b.get('/login');
    const res = await b.post('/login', { username: 'admin', password: t.adminPassword });
    const cookie = res.cookies.find((c) => c.name === SESSION_COOKIE)!;
    expect(cookie.httpOnly).toBe(true);
    expect(cookie.sameSite).toBe('Lax');
    expect(Buffer.from(cookie.value, 'base64url').toString('latin1')).not.toContain('admin');
  });

  it('changes the password only with the current one, and old sessions die', async () => {
    const b = new Browser(t.app);
    const other = new Browser(t.app);
    await b.login('admin', t.adminPassword);
    await other.login('admin', t.adminPassword);
    await b.get('/system/password');
    const wrong = await b.post('/system/password', { current: 'nope', password: 'a-new-password-1', confirm: 'a-new-password-1' });
    expect(wrong.statusCode).toBe(400);
    const short = await b.post('/system/password', { current: t.adminPassword, password: 'short', confirm: 'short' });
    expect(short.statusCode).toBe(400);
    expect(short.body).toContain('data-field-error="password"');
    const ok = await b.post('/system/password', { current: t.adminPassword, password: 'a-new-password-1', confirm: 'a-new-password-1' });
    expect(ok.statusCode).toBe(303);
    expect((await b.get('/')).statusCode).toBe(200);
    expect((await other.get('/')).statusCode).toBe(303);
    const fresh = new Browser(t.app);
    expect((await fresh.login('admin', t.adminPassword)).statusCode).toBe(401);
    expect((await fresh.login('admin', 'a-new-password-1')).statusCode).toBe(303);
  });

  it('logout ends the session', async () => {
    const b = new Browser(t.app);
    await b.login('admin', t.adminPassword);
    await b.get('/');
    expect((await b.post('/logout', {})).statusCode).toBe(303);
    expect((await b.get('/')).statusCode).toBe(303);
  });
});

describe('login rate limit', () => {
  it('locks out after repeated failures, even with the right password', async () => {
    const t = await buildTestApp({ throttle: new LoginThrottle(3, 60_000) });
    try {
      const b = new Browser(t.app);
      for (let i = 0; i < 3; i++) expect((await b.login('admin', `wrong${i}`)).statusCode).toBe(401);
      const locked = await b.login('admin', t.adminPassword);
      expect(locked.statusCode).toBe(429);
      expect(locked.headers['retry-after']).toBeDefined();
    } finally {
      await t.close();
    }
  });

  it('forgets failures after the window', () => {
    const throttle = new LoginThrottle(2, 1000);
    throttle.fail(['ip:x'], 0);
    throttle.fail(['ip:x'], 10);
    expect(throttle.retryAfter(['ip:x'], 20)).toBeGreaterThan(0);
    expect(throttle.retryAfter(['ip:x'], 2000)).toBe(0);
  });
});

describe('pieces', () => {
  it('scrypt hashes verify and are salted', async () => {
    const a = await hashPassword('secret-one');
    const b = await hashPassword('secret-one');
    expect(a).not.toBe(b);
    expect(await verifyPassword('secret-one', a)).toBe(true);
    expect(await verifyPassword('secret-two', a)).toBe(false);
    expect(randomPassword()).not.toBe(randomPassword());
  });

  it('a tampered or foreign session cookie is ignored', () => {
    const key = randomBytes(32);
    const token = sealSession(key, { ...newSession(), user: { name: 'admin', source: 'local', generation: 0 } });
    expect(unsealSession(key, token)?.user?.name).toBe('admin');
    const bytes = Buffer.from(token, 'base64url');
    bytes[bytes.length - 1]! ^= 1;
    expect(unsealSession(key, bytes.toString('base64url'))).toBeUndefined();
    expect(unsealSession(randomBytes(32), token)).toBeUndefined();
  });

  it('never redirects off-site after login', () => {
    expect(safeNext('/snmp')).toBe('/snmp');
    expect(safeNext('//evil.example/')).toBe('/');
    expect(safeNext('https://evil.example/')).toBe('/');
    expect(safeNext('/\\evil')).toBe('/');
    expect(safeNext(undefined)).toBe('/');
  });
});
