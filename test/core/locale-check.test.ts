import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkLocaleFiles, compareLocales, placeholders } from '../../src/lib/locale-check.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const en = {
  nav: { logout: 'Log out', search: 'Search' },
  login: { throttled: 'Try again in {{minutes}} minutes.' },
};

describe('compareLocales', () => {
  it('accepts a complete translation', () => {
    const ca = { nav: { logout: 'Tanca la sessió', search: 'Cerca' }, login: { throttled: "Torneu-ho a provar d'aquí a {{minutes}} minuts." } };
    expect(compareLocales(en, ca)).toEqual([]);
  });

  it('reports a missing key, a stale key and a lost placeholder', () => {
    const other = {
      nav: { search: 'Cerca', oldEntry: 'Antic' },
      login: { throttled: "Torneu-ho a provar d'aquí a uns minuts." },
    };
    expect(compareLocales(en, other)).toEqual([
      'missing nav.logout',
      'stale nav.oldEntry',
      'placeholder {{minutes}} lost in login.throttled',
    ]);
  });

  it('reports whole missing or stale sections key by key, and values of the wrong type', () => {
    expect(compareLocales(en, { nav: 'Menú', extra: { a: 'x', b: { c: 'y' } } })).toEqual([
      'wrong type nav (expected an object)',
      'missing login.throttled',
      'stale extra.a',
      'stale extra.b.c',
    ]);
    expect(compareLocales({ a: { b: 'B' } }, { a: { b: { c: 'C' } } })).toEqual(['wrong type a.b (expected a string)']);
  });

  it('reports empty strings and misspelt placeholders', () => {
    expect(compareLocales({ a: 'A', b: '{{min}} to {{max}}' }, { a: ' ', b: '{{min}} a {{maxim}}' })).toEqual([
      'empty a',
      'placeholder {{max}} lost in b',
      'unknown placeholder {{maxim}} in b',
    ]);
  });

  it('reads i18next placeholder forms', () => {
    expect([...placeholders('{{a}} {{ b }} {{- c}} {{d, number}} {user} $t(x)')]).toEqual(['a', 'b', 'c', 'd']);
  });

  it("follows the translation's plural forms when the language is given", () => {
    const plural = { files_one: 'One file', files_other: '{{count}} files' };
    // Spanish has one/many/other; Japanese only other.
    expect(compareLocales(plural, { files_one: 'Un archivo', files_many: '{{count}} de archivos', files_other: '{{count}} archivos' }, 'es')).toEqual([]);
    expect(compareLocales(plural, { files_one: 'Un archivo', files_other: 'archivos' }, 'es')).toEqual([
      'missing files_many',
      'placeholder {{count}} lost in files_other',
    ]);
    expect(compareLocales(plural, { files_other: '{{count}} ファイル', files_one: '1 ファイル' }, 'ja')).toEqual(['stale files_one']);
    // Without a language, plural keys are plain keys.
    expect(compareLocales(plural, { files_one: 'Un', files_other: '{{count}}', files_many: '{{count}}' })).toEqual(['stale files_many']);
  });
});

describe('checkLocaleFiles', () => {
  it("finds no problem in the repository's translations", () => {
    const report = checkLocaleFiles(root);
    expect(report.problems).toEqual([]);
    expect(report.languages).toEqual(expect.arrayContaining(['ca', 'es']));
    expect(report.namespaces).toBeGreaterThanOrEqual(2); // common + snmp
    expect(report.keys).toBeGreaterThan(100);
  });

  it('reports missing language files and problems per language and namespace', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cloudy-locales-'));
    try {
      const write = (file: string, data: object) => {
        mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        writeFileSync(path.join(dir, file), JSON.stringify(data));
      };
      write('locales/en/common.json', en);
      write('locales/ca/common.json', { nav: { logout: 'Tanca la sessió', search: 'Cerca' }, login: { throttled: '{{minutes}}' } });
      write('locales/es/common.json', { nav: { logout: 'Cerrar sesión' }, login: { throttled: '{{minutes}}' } });
      write('plugins/demo/locales/en.json', { title: 'Demo' });
      write('plugins/demo/locales/ca.json', { title: 'Demostració' });
      const report = checkLocaleFiles(dir);
      expect(report.problems).toEqual([
        'es common: missing nav.search',
        'es demo: missing file plugins/demo/locales/es.json',
      ]);
      expect(report).toMatchObject({ keys: 4, namespaces: 2, languages: ['ca', 'es'] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
