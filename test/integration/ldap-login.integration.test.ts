// LDAP login against the real throwaway slapd started by scripts/test-services.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, buildTestApp, type TestApp } from '../helpers/build-app.js';

const LDAP_URL = process.env.CLOUDY_TEST_LDAP_URL;
const BASE = process.env.CLOUDY_TEST_LDAP_BASE ?? 'dc=cloudy,dc=test';
if (!LDAP_URL) throw new Error('integration tests run under scripts/test-services (CLOUDY_TEST_LDAP_URL is not set)');

const ldapForm = (over: Record<string, string> = {}) => ({
  enabled: 'on', urls: LDAP_URL, bindDnPattern: `uid={user},ou=people,${BASE}`, searchBase: '', searchFilter: '(uid={user})',
  searchBindDn: '', searchBindPassword: '', adminGroupDn: '', tlsVerify: 'on', timeoutMs: '2000', ...over,
});

describe('LDAP login (real slapd)', () => {
  let t: TestApp;
  let admin: Browser;
  beforeAll(async () => {
    t = await buildTestApp();
    admin = new Browser(t.app);
    await admin.login('admin', t.adminPassword);
  });
  afterAll(async () => t.close());

  const configure = async (form: Record<string, string>) => {
    await admin.get('/system/ldap');
    const res = await admin.post('/system/ldap', form);
    expect(res.statusCode, res.body.slice(0, 300)).toBe(303);
  };

  it('logs a directory user in with a DN pattern and refuses a wrong password', async () => {
    await configure(ldapForm());
    expect((await new Browser(t.app).login('alice', 'alicepw')).statusCode).toBe(303);
    expect((await new Browser(t.app).login('alice', 'wrong')).statusCode).toBe(401);
    expect((await new Browser(t.app).login('nobody-here', 'x')).statusCode).toBe(401);
    const alice = new Browser(t.app);
    await alice.login('alice', 'alicepw');
    const page = await alice.get('/');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('(alice)');
  });

  it('refuses filter and DN injection in the user name', async () => {
    expect((await new Browser(t.app).login('*', 'alicepw')).statusCode).toBe(401);
    expect((await new Browser(t.app).login('alice,ou=people', 'alicepw')).statusCode).toBe(401);
  });

  it('searches then binds, and enforces the admin group', async () => {
    await configure(ldapForm({ bindDnPattern: '', searchBase: `ou=people,${BASE}`, adminGroupDn: `cn=cloudy-admins,ou=groups,${BASE}` }));
    expect((await new Browser(t.app).login('alice', 'alicepw')).statusCode).toBe(303);
    const bob = await new Browser(t.app).login('bob', 'bobpw');
    expect(bob.statusCode).toBe(401);
    expect(bob.body).toContain('not in the admin group');
  });

  it('when LDAP is down the login page says so and the local admin still logs in', async () => {
    // a loopback port nothing listens on
    await configure(ldapForm({ urls: 'ldap://127.0.0.1:1' }));
    const b = new Browser(t.app);
    expect((await b.login('alice', 'alicepw')).statusCode).toBe(401);
    expect((await b.get('/login')).body).toContain('data-testid="ldap-down"');
    expect((await new Browser(t.app).login('admin', t.adminPassword)).statusCode).toBe(303);
  });

  it('fails over to the second server', async () => {
    await configure(ldapForm({ urls: `ldap://127.0.0.1:1\n${LDAP_URL}` }));
    expect((await new Browser(t.app).login('alice', 'alicepw')).statusCode).toBe(303);
  });

  it('refuses a bad LDAP form with field errors and keeps the old settings', async () => {
    const before = JSON.stringify(t.app.auth.ldapSettings());
    await admin.get('/system/ldap');
    const res = await admin.post('/system/ldap', ldapForm({ urls: 'http://evil.example', bindDnPattern: 'uid=fixed', timeoutMs: '5' }));
    expect(res.statusCode).toBe(400);
    for (const field of ['urls', 'bindDnPattern', 'timeoutMs']) expect(res.body).toContain(`data-field-error="${field}"`);
    expect(JSON.stringify(t.app.auth.ldapSettings())).toBe(before);
  });
});
