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
  const fixed = new Map(LANGUAGE_CODES.map((code) => [code, opts.i18n.getFixedT(code)]));
  app.addHook('onRequest', async (request) => {
    const cookie = request.cookies?.[LANG_COOKIE];
    request.lang = isLanguage(cookie) ? cookie : negotiateLanguage(request.headers['accept-language'], opts.defaultLanguage);
    request.t = fixed.get(request.lang)!;
  });
}, { name: 'i18n', dependencies: ['@fastify/cookie'] });
