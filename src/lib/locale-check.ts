// Translation completeness: every language must have the keys of English (the reference), no
// keys English no longer has, and every {{placeholder}} English uses. `compareLocales` is the
// pure check of one namespace; `checkLocaleFiles` runs it over the repository's locale files
// (locales/<lng>/common.json and plugins/<id>/locales/<lng>.json), as src/core/i18n.ts loads them.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Languages every namespace with an English file must have, besides any other language found. */
export const REQUIRED_LANGUAGES: readonly string[] = ['ca', 'es'];
export const REFERENCE_LANGUAGE = 'en';

type Json = string | number | boolean | null | Json[] | JsonObject;
type JsonObject = { [key: string]: Json };

const PLACEHOLDER = /\{\{\s*(-\s*)?([^{}]+?)\s*\}\}/g;
// i18next plural suffixes: key_one, key_other, key_ordinal_few, ...
const PLURAL_KEY = /^(.+?)_(ordinal_)?(zero|one|two|few|many|other)$/;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null;
}

function has(object: JsonObject, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

function join(prefix: string, key: string): string {
  return prefix ? `${prefix}.${key}` : key;
}

/** Names of the i18next interpolations in a string: "{{count}}", "{{- html}}", "{{n, number}}". */
export function placeholders(text: string): Set<string> {
  const names = new Set<string>();
  for (const match of text.matchAll(PLACEHOLDER)) {
    const name = (match[2] ?? '').split(',')[0]?.trim();
    if (name) names.add(name);
  }
  return names;
}

/** Plural categories i18next uses for a language (via Intl), or undefined if Intl does not know it. */
function pluralCategories(lng: string, ordinal: boolean): Set<string> | undefined {
  try {
    if (Intl.PluralRules.supportedLocalesOf([lng]).length === 0) return undefined;
    const rules = new Intl.PluralRules(lng, { type: ordinal ? 'ordinal' : 'cardinal' });
    return new Set<string>(rules.resolvedOptions().pluralCategories);
  } catch {
    return undefined;
  }
}

function compareValue(en: Json | undefined, other: Json | undefined, key: string, lng: string | undefined, out: string[]): void {
  if (en === undefined) return;
  if (isObject(en)) {
    if (other === undefined) compareObject(en, {}, key, lng, out);
    else if (!isObject(other) || Array.isArray(other) !== Array.isArray(en)) out.push(`wrong type ${key} (expected ${Array.isArray(en) ? 'an array' : 'an object'})`);
    else compareObject(en, other, key, lng, out);
    return;
  }
  if (other === undefined) {
    out.push(`missing ${key}`);
    return;
  }
  if (isObject(other) || typeof other !== typeof en) {
    out.push(`wrong type ${key} (expected ${en === null ? 'null' : `a ${typeof en}`})`);
    return;
  }
  if (typeof en === 'string' && typeof other === 'string') {
    if (other.trim() === '' && en.trim() !== '') out.push(`empty ${key}`);
    const theirs = placeholders(other);
    const ours = placeholders(en);
    for (const name of ours) if (!theirs.has(name)) out.push(`placeholder {{${name}}} lost in ${key}`);
    for (const name of theirs) if (!ours.has(name)) out.push(`unknown placeholder {{${name}}} in ${key}`);
  }
}

function reportStale(other: Json, key: string, out: string[]): void {
  if (isObject(other) && Object.keys(other).length > 0) {
    for (const [k, v] of Object.entries(other)) reportStale(v, join(key, k), out);
  } else {
    out.push(`stale ${key}`);
  }
}

function compareObject(en: JsonObject, other: JsonObject, prefix: string, lng: string | undefined, out: string[]): void {
  const done = new Set<string>(); // keys already compared as plural forms

  // Plural groups (only when the language is known): the translation needs exactly the plural
  // forms of its own language, which may differ from English's _one/_other.
  if (lng) {
    const groups = new Map<string, { base: string; ordinal: string }>();
    for (const key of Object.keys(en)) {
      const match = PLURAL_KEY.exec(key);
      if (!match) continue;
      const base = match[1] ?? '';
      const ordinal = match[2] ?? '';
      if (typeof en[`${base}_${ordinal}other`] === 'string') groups.set(`${base}_${ordinal}`, { base, ordinal });
    }
    for (const [stem, { base, ordinal }] of groups) {
      const categories = pluralCategories(lng, ordinal !== '');
      if (!categories) continue;
      const isForm = (key: string) => {
        const match = PLURAL_KEY.exec(key);
        return match !== null && match[1] === base && (match[2] ?? '') === ordinal;
      };
      const forms = new Set([...categories].map((category) => `${stem}${category}`));
      for (const key of forms) {
        const reference = typeof en[key] === 'string' ? en[key] : en[`${stem}other`];
        compareValue(reference, has(other, key) ? other[key] : undefined, join(prefix, key), lng, out);
      }
      for (const key of Object.keys(other)) {
        if (isForm(key) && !forms.has(key)) reportStale(other[key] ?? null, join(prefix, key), out);
      }
      for (const key of [...Object.keys(en), ...Object.keys(other)]) if (isForm(key)) done.add(key);
    }
  }

  for (const [key, value] of Object.entries(en)) {
    if (done.has(key)) continue;
    compareValue(value, has(other, key) ? other[key] : undefined, join(prefix, key), lng, out);
  }
  for (const [key, value] of Object.entries(other)) {
    if (done.has(key) || has(en, key)) continue;
    reportStale(value, join(prefix, key), out);
  }
}

/**
 * Compares a translation with the English reference of the same namespace and returns one
 * problem per line, e.g. "missing nav.logout", "stale nav.old", "placeholder {{minutes}} lost in
 * login.throttled". Given `lng`, plural keys (key_one, key_other, ...) must follow that
 * language's plural forms; without it they are compared like any other key.
 */
export function compareLocales(en: object, other: object, lng?: string): string[] {
  const out: string[] = [];
  compareObject(en as JsonObject, other as JsonObject, '', lng, out);
  return out;
}

/** Number of translatable strings (leaves) in a namespace. */
export function countKeys(value: unknown): number {
  if (!isObject(value)) return 1;
  return Object.values(value).reduce<number>((sum, v) => sum + countKeys(v), 0);
}

export interface LocaleNamespace {
  /** i18next namespace: "common" or the plugin id. */
  name: string;
  /** File of a language, relative to the root. */
  file(lng: string): string;
  /** Languages that have a file. */
  languages: string[];
}

function jsonFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.json'))
    .map((d) => d.name.slice(0, -'.json'.length));
}

/** Finds the core namespace and every plugin namespace with a locales/ folder. */
export function findLocaleNamespaces(root: string): LocaleNamespace[] {
  const namespaces: LocaleNamespace[] = [];
  const core = path.join(root, 'locales');
  if (existsSync(core)) {
    namespaces.push({
      name: 'common',
      file: (lng) => path.join('locales', lng, 'common.json'),
      languages: readdirSync(core, { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(path.join(core, d.name, 'common.json')))
        .map((d) => d.name),
    });
  }
  const plugins = path.join(root, 'plugins');
  if (existsSync(plugins)) {
    const ids = readdirSync(plugins, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(path.join(plugins, d.name, 'locales')))
      .map((d) => d.name)
      .sort();
    for (const id of ids) {
      namespaces.push({
        name: id,
        file: (lng) => path.join('plugins', id, 'locales', `${lng}.json`),
        languages: jsonFiles(path.join(plugins, id, 'locales')),
      });
    }
  }
  return namespaces;
}

export interface LocaleReport {
  problems: string[];
  /** English strings over all namespaces. */
  keys: number;
  namespaces: number;
  /** Languages checked against English. */
  languages: string[];
}

/** Checks every namespace's translations against its English file. */
export function checkLocaleFiles(root: string, required: readonly string[] = REQUIRED_LANGUAGES): LocaleReport {
  const namespaces = findLocaleNamespaces(root);
  const languages = [...new Set([...required, ...namespaces.flatMap((ns) => ns.languages)])]
    .filter((lng) => lng !== REFERENCE_LANGUAGE)
    .sort();
  const problems: string[] = [];
  let keys = 0;

  /** One language of a namespace; undefined (and a problem) when the file is missing or unreadable. */
  const read = (ns: LocaleNamespace, lng: string): JsonObject | undefined => {
    const file = ns.file(lng);
    if (!ns.languages.includes(lng)) {
      problems.push(`${lng} ${ns.name}: missing file ${file}`);
      return undefined;
    }
    try {
      const data: unknown = JSON.parse(readFileSync(path.join(root, file), 'utf8'));
      if (isObject(data) && !Array.isArray(data)) return data;
      problems.push(`${lng} ${ns.name}: ${file} is not a JSON object`);
    } catch (error) {
      problems.push(`${lng} ${ns.name}: cannot read ${file}: ${(error as Error).message}`);
    }
    return undefined;
  };

  for (const ns of namespaces) {
    const en = read(ns, REFERENCE_LANGUAGE);
    if (!en) continue;
    keys += countKeys(en);
    for (const lng of languages) {
      const other = read(ns, lng);
      if (!other) continue;
      for (const problem of compareLocales(en, other, lng)) problems.push(`${lng} ${ns.name}: ${problem}`);
    }
  }
  return { problems, keys, namespaces: namespaces.length, languages };
}
