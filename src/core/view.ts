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
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
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
  await app.register(fastifyView, {
    engine: { eta },
    root: opts.projectRoot,
    layout: 'views/layouts/main.eta',
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
    void this.view(template, context);
    return this;
  });

  // Strict headers: no inline script anywhere, no framing, no sniffing.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('content-security-policy', "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'same-origin');
  });
}, { name: 'view', dependencies: ['i18n', 'session'] });
