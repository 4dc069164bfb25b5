// Translations: i18next with the `common` namespace plus one namespace per plugin (its id).
// Language from the `lang` cookie, else Accept-Language, else the configured default;
// any key missing in a language falls back to English, key by key.
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import fp from 'fastify-plugin';
import i18next, { type i18n, type TFunction } from 'i18next';

export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'ca', name: 'Català' },
  { code: 'es', name: 'Español' },
] as const;
export type LanguageCode = (typeof LANGUAGES)[number]['code'];
export const LANGUAGE_CODES = LANGUAGES.map((l) => l.code) as [LanguageCode, ...LanguageCode[]];
export const LANG_COOKIE = 'cloudy_lang';

export function isLanguage(code: unknown): code is LanguageCode {
  return typeof code === 'string' && (LANGUAGE_CODES as string[]).includes(code);
}

/** Loads locales/<lng>/common.json and plugins/<id>/locales/<lng>.json. */
export function loadResources(projectRoot: string, pluginIds: readonly string[]) {
  const resources: Record<string, Record<string, object>> = {};
  for (const { code } of LANGUAGES) {
    resources[code] = {};
    const common = path.join(projectRoot, 'locales', code, 'common.json');
    if (existsSync(common)) resources[code].common = JSON.parse(readFileSync(common, 'utf8'));
    for (const id of pluginIds) {
      const file = path.join(projectRoot, 'plugins', id, 'locales', `${code}.json`);
      if (existsSync(file)) resources[code][id] = JSON.parse(readFileSync(file, 'utf8'));
    }
  }
  return resources;
}

export function pluginFoldersWithLocales(projectRoot: string): string[] {
  const dir = path.join(projectRoot, 'plugins');
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(dir, d.name, 'locales')))
    .map((d) => d.name);
}

export async function createI18n(projectRoot: string, pluginIds: readonly string[]): Promise<i18n> {
  const instance = i18next.createInstance();
  await instance.init({
    resources: loadResources(projectRoot, pluginIds),
    supportedLngs: LANGUAGE_CODES,
    fallbackLng: 'en',
    ns: ['common', ...pluginIds],
    defaultNS: 'common',
    fallbackNS: 'common',
    interpolation: { escapeValue: false }, // Eta escapes on output
    returnNull: false,
    initAsync: false,
    showSupportNotice: false,
  } as Parameters<i18n['init']>[0]);
  return instance;
}

/** Most distinct option-less keys one language keeps translated (keys come from code and templates). */
const MEMO_LIMIT = 5000;

/**
 * `getFixedT(lng)` with the result of every option-less call (`t(key)`, or `t(key, {})`) remembered:
 * i18next resolves namespaces, fallback languages and nesting on each call, which made up a quarter
 * of a page's CPU. The answer to an option-less key depends only on the resources, so the memo is
 * dropped whenever a resource or bundle is added or removed. Calls with options (interpolation,
 * plurals, defaultValue, ...) always go to i18next.
 */
export function memoizedT(instance: i18n, lng: LanguageCode): TFunction {
  const base = instance.getFixedT(lng);
  const call = base as unknown as (...args: unknown[]) => unknown;
  const memo = new Map<string, string>();
  const clear = () => memo.clear();
  instance.store.on('added', clear);
  instance.store.on('removed', clear);
  const t = (key: unknown, ...rest: unknown[]) => {
    const options = rest[0];
    if (typeof key !== 'string' || rest.length > 1 || (options !== undefined && !isEmptyObject(options))) {
      return call(key, ...rest);
    }
    let value = memo.get(key);
    if (value === undefined) {
      const translated = call(key);
      if (typeof translated !== 'string') return translated;
      value = translated;
      if (memo.size < MEMO_LIMIT) memo.set(key, value);
    }
    return value;
  };
  const { lng: fixedLng, ns, keyPrefix } = base as unknown as { lng: string; ns: unknown; keyPrefix: unknown };
  return Object.assign(t, { lng: fixedLng, ns, keyPrefix }) as unknown as TFunction;
}

function isEmptyObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  for (const _ in value) return false;
  return true;
}

/** Picks the best supported language from an Accept-Language header. */
export function negotiateLanguage(header: string | undefined, fallback: LanguageCode): LanguageCode {
  if (!header) return fallback;
  const ranked = header.split(',').map((part) => {
    const [tag = '', ...params] = part.trim().split(';');
    const q = Number(params.find((p) => p.trim().startsWith('q='))?.trim().slice(2) ?? '1');
    return { tag: tag.toLowerCase(), q: Number.isFinite(q) ? q : 0 };
  }).filter((x) => x.q > 0).sort((a, b) => b.q - a.q);
  for (const { tag } of ranked) {
    const base = tag.split('-')[0];
    if (isLanguage(base)) return base;
  }
  return fallback;
}

declare module 'fastify' {
  interface FastifyRequest {
    lang: LanguageCode;
    t: TFunction;
  }
  interface FastifyInstance {
    i18n: i18n;
  }
}

export default fp(async (app, opts: { i18n: i18n; defaultLanguage: LanguageCode }) => {
  app.decorate('i18n', opts.i18n);
  app.decorateRequest('lang', 'en');
  app.decorateRequest('t', null as unknown as TFunction);
  const fixed = new Map(LANGUAGE_CODES.map((code) => [code, memoizedT(opts.i18n, code)]));
  app.addHook('onRequest', (request, _reply, done) => {
    const cookie = request.cookies?.[LANG_COOKIE];
    request.lang = isLanguage(cookie) ? cookie : negotiateLanguage(request.headers['accept-language'], opts.defaultLanguage);
    request.t = fixed.get(request.lang)!;
    done();
  });
}, { name: 'i18n', dependencies: ['@fastify/cookie'] });
