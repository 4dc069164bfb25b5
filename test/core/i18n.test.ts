import { describe, expect, it, afterAll, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { createI18n, memoizedT, negotiateLanguage } from '../../src/core/i18n.js';
import { Browser, buildTestApp, type TestApp } from '../helpers/build-app.js';

const ca = JSON.parse(readFileSync('locales/ca/common.json', 'utf8'));
const es = JSON.parse(readFileSync('locales/es/common.json', 'utf8'));

describe('language choice', () => {
  it('negotiates Accept-Language by quality, base language first', () => {
    expect(negotiateLanguage('ca-ES,ca;q=0.9,en;q=0.8', 'en')).toBe('ca');
    expect(negotiateLanguage('fr-FR,es;q=0.5,en;q=0.4', 'en')).toBe('es');
    expect(negotiateLanguage('de', 'en')).toBe('en');
    expect(negotiateLanguage('en;q=0.1,es;q=0.9', 'en')).toBe('es');
    expect(negotiateLanguage(undefined, 'ca')).toBe('ca');
  });

  it('falls back to English key by key', async () => {
    const i18n = await createI18n(process.cwd(), ['snmp']);
    i18n.addResource('en', 'common', 'onlyInEnglish', 'Only English');
    expect(i18n.getFixedT('ca')('onlyInEnglish')).toBe('Only English');
    expect(i18n.getFixedT('ca')('nav.system')).toBe(ca.nav.system);
    expect(i18n.getFixedT('es')('snmp:title')).toBe(JSON.parse(readFileSync('plugins/snmp/locales/es.json', 'utf8')).title);
  });

  it('memoizes option-less lookups per language, and forgets them when resources change', async () => {
    const i18n = await createI18n(process.cwd(), ['snmp']);
    const t = memoizedT(i18n, 'ca');
    i18n.addResource('en', 'common', 'later', 'English {{n}}');
    expect(t('later')).toBe('English {{n}}');
    expect(t('later', { n: 2 })).toBe('English 2'); // options always reach i18next
    i18n.addResource('ca', 'common', 'later', 'Català {{n}}');
    expect(t('later')).toBe('Català {{n}}');
    expect(t('later', {})).toBe('Català {{n}}');
    expect(t('nav.system')).toBe(ca.nav.system);
    expect(t('snmp:title')).toBe(JSON.parse(readFileSync('plugins/snmp/locales/ca.json', 'utf8')).title);
  });
});

describe('language in pages', () => {
  let t: TestApp;
  beforeAll(async () => { t = await buildTestApp(); });
  afterAll(async () => t.close());

  it('uses Accept-Language, then the cookie set from the Languages menu (before login too)', async () => {
    const b = new Browser(t.app, 'es-ES,es;q=0.9');
    const login = await b.get('/login');
    expect(login.body).toContain('<html lang="es"');
    expect(login.body).toContain(es.login.title);
    const switched = await b.post('/languages', { lang: 'ca', next: '/login' });
    expect(switched.statusCode).toBe(303);
    expect(switched.headers.location).toBe('/login');
    const again = await b.get('/login');
    expect(again.body).toContain('<html lang="ca"');
    expect(again.body).toContain(ca.login.title);
  });

  it('refuses an unknown language and keeps the current one', async () => {
    const b = new Browser(t.app);
    await b.get('/login');
    const res = await b.post('/languages', { lang: 'xx' });
    expect(res.statusCode).toBe(303);
    expect(res.cookies.find((c) => c.name === 'cloudy_lang')).toBeUndefined();
  });
});
