// Pages: Eta (auto-escaping) through @fastify/view, always inside views/layouts/main.eta.
// reply.page() adds what every page needs: translations, menus, user, CSRF token, flash.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import fp from 'fastify-plugin';
import fastifyView from '@fastify/view';
import fastifyStatic from '@fastify/static';
import { Eta } from 'eta';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LANGUAGES } from './i18n.js';
import type { Menus } from '../registry/registry.js';
import { CSRF_FIELD } from './csrf.js';

export interface PageData {
  /** i18n key or text of the <title> and the page heading */
  title: string;
  [key: string]: unknown;
}

declare module 'fastify' {
  interface FastifyReply {
    page(template: string, data: PageData, status?: number): FastifyReply;
  }
  interface FastifyInstance {
    assetPrefix: string;
  }
}

/** A short hash of everything under public/ plus Bootstrap's version: changes when any asset does. */
function assetVersion(projectRoot: string): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    // plain code-unit order: localeCompare would load ICU's collation data (~5 ms, ~3 MB) at start
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else hash.update(entry.name).update(readFileSync(full));
    }
  };
  walk(path.join(projectRoot, 'public'));
  const bootstrap = path.join(projectRoot, 'node_modules', 'bootstrap', 'package.json');
  hash.update(JSON.parse(readFileSync(bootstrap, 'utf8')).version);
  return hash.digest('hex').slice(0, 10);
}

export function bootstrapDist(projectRoot: string): string {
  const dist = path.join(projectRoot, 'node_modules', 'bootstrap', 'dist');
  statSync(dist);
  return dist;
}

export default fp(async (app, opts: { projectRoot: string; menus: () => Menus; production: boolean }) => {
  const version = assetVersion(opts.projectRoot);
  const prefix = `/assets/${version}`;
  app.decorate('assetPrefix', prefix);

  // Content-hashed URLs: safe to cache forever.
  const staticOptions = { immutable: true, maxAge: '365d', cacheControl: true, index: false as const, wildcard: true };
  await app.register(fastifyStatic, { root: path.join(opts.projectRoot, 'public'), prefix: `${prefix}/`, ...staticOptions });
  await app.register(fastifyStatic, { root: bootstrapDist(opts.projectRoot), prefix: `${prefix}/bootstrap/`, decorateReply: false, ...staticOptions });

  const eta = new Eta({ views: opts.projectRoot, autoEscape: true, autoTrim: false, cache: opts.production });
  // Eta resolves (JSON key, path.join, path.relative) every include of every render; the answer
  // depends only on the two names and the fixed views folder, so remember it.
  const resolvePath = eta.resolvePath;
  const resolved = new Map<string, Map<string, string>>(); // including file → template → file
  eta.resolvePath = function (this: Eta, template: string, options?: { filepath?: string }) {
    const from = options?.filepath ?? '';
    let known = resolved.get(from);
    if (!known) resolved.set(from, known = new Map());
    let file = known.get(template);
    if (file === undefined) {
      file = resolvePath.call(this, template, options);
      known.set(template, file);
    }
    return file;
  } as typeof eta.resolvePath;
  const LAYOUT = 'views/layouts/main.eta';
  await app.register(fastifyView, {
    engine: { eta },
    root: opts.projectRoot,
    layout: LAYOUT,
    production: opts.production,
  });

  app.decorateReply('page', function (this: FastifyReply, template: string, data: PageData, status = 200) {
    const request = this.request as FastifyRequest;
    const t = request.t;
    const context = {
      ...data,
      t,
      lang: request.lang,
      languages: LANGUAGES,
      menus: opts.menus(),
      user: request.session?.user,
      csrfField: CSRF_FIELD,
      csrf: request.session?.csrf ?? '',
      flash: request.session ? request.takeFlash() : [],
      path: request.url.split('?')[0],
      assets: prefix,
    };
    this.code(status).header('cache-control', 'no-store').type('text/html; charset=utf-8');
    // What reply.view() does with a layout (page, then the layout with it.body), without
    // @fastify/view's per-call reconfiguration, object copies and promise hops.
    const html = eta.render(template, context);
    return this.send(eta.render(LAYOUT, Object.assign(context, { body: html })));
  });

  // Strict headers: no inline script anywhere, no framing, no sniffing.
  const securityHeaders = {
    'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
  };
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.headers(securityHeaders);
    done(null, payload);
  });
}, { name: 'view', dependencies: ['i18n', 'session'] });
