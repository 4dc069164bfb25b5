// Who may use the panel: the local admin (scrypt hash) and, when configured, LDAP users
// (optionally only members of an admin group). Every route needs a login except the login
// page, the language switch, assets and the health check.
import fp from 'fastify-plugin';
import { z } from 'zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdminStore } from './admin-store.js';
import { LoginThrottle } from './login-throttle.js';
import { authenticateLdap, probeLdap } from './ldap-auth.js';
import type { LdapSettings } from '../config.js';

export type LdapHealth = 'disabled' | 'up' | 'down';

export interface AuthService {
  admin: AdminStore;
  ldapSettings(): LdapSettings;
  ldapHealth(): LdapHealth;
  checkLdapNow(): Promise<LdapHealth>;
}

declare module 'fastify' {
  interface FastifyInstance {
    auth: AuthService;
  }
  interface FastifyContextConfig {
    /** Reachable without logging in. */
    public?: boolean;
  }
}

const LoginSchema = z.object({
  username: z.string().trim().min(1, 'validation.required').max(64, 'validation.tooLong'),
  password: z.string().min(1, 'validation.required').max(1024, 'validation.tooLong'),
  next: z.string().optional(),
});

/** Only local paths: never redirect a user to another site after login. */
export function safeNext(next: string | undefined, { allowLogin = false } = {}): string {
  if (!next || !/^\/(?![/\\])[\w\-./?=&%]*$/.test(next)) return '/';
  // after logging in, going "back" to the login page would be a loop
  return !allowLogin && next.startsWith('/login') ? '/' : next;
}

const LDAP_PROBE_MS = 60_000;

export default fp(async (app, opts: { admin: AdminStore; ldapSettings: () => LdapSettings; throttle?: LoginThrottle }) => {
  const throttle = opts.throttle ?? new LoginThrottle();
  let health: LdapHealth = opts.ldapSettings().enabled ? 'up' : 'disabled';
  const checkLdapNow = async (): Promise<LdapHealth> => {
    const settings = opts.ldapSettings();
    health = !settings.enabled || settings.urls.length === 0 ? 'disabled' : (await probeLdap(settings)) ? 'up' : 'down';
    return health;
  };
  const timer = setInterval(() => void checkLdapNow(), LDAP_PROBE_MS);
  timer.unref();
  app.addHook('onReady', async () => { void checkLdapNow(); });
  app.addHook('onClose', async () => clearInterval(timer));

  app.decorate('auth', {
    admin: opts.admin,
    ldapSettings: opts.ldapSettings,
    ldapHealth: () => health,
    checkLdapNow,
  } satisfies AuthService);

  const isLoggedIn = (request: FastifyRequest) => {
    const user = request.session.user;
    if (!user) return false;
    if (user.source === 'local') return user.name === opts.admin.username && user.generation === opts.admin.generation;
    return opts.ldapSettings().enabled;
  };

  // callback style: the usual case (logged in, or a public route) goes on without a promise
  app.addHook('preHandler', (request, reply, done) => {
    if (request.routeOptions.config?.public || request.url.startsWith('/assets/')) return done();
    if (isLoggedIn(request)) return done();
    if (request.session.user) delete request.session.user; // stale (password changed, LDAP off)
    // answered here: done() is not called
    if (request.method === 'GET' && !request.headers.accept?.includes('text/event-stream')) {
      reply.redirect(`/login?next=${encodeURIComponent(request.url)}`, 303);
    } else {
      reply.code(401).send({ error: 'login required' });
    }
  });

  const renderLogin = (request: FastifyRequest, reply: FastifyReply, extra: Record<string, unknown> = {}, status = 200) =>
    reply.page('views/pages/login.eta', {
      title: 'login.title',
      ldapHealth: health,
      values: { username: '', next: '/' },
      errors: {},
      ...extra,
    }, status);

  app.get('/login', { config: { public: true } }, async (request, reply) => {
    const next = safeNext((request.query as { next?: string }).next);
    if (isLoggedIn(request)) return reply.redirect(next, 303);
    return renderLogin(request, reply, { values: { username: '', next } });
  });

  app.post('/login', { config: { public: true } }, async (request, reply) => {
    const parsed = LoginSchema.safeParse(request.body ?? {});
    const body = (request.body ?? {}) as Record<string, unknown>;
    const values = { username: typeof body.username === 'string' ? body.username.slice(0, 64) : '', next: safeNext(typeof body.next === 'string' ? body.next : undefined) };
    if (!parsed.success) {
      const errors = Object.fromEntries(parsed.error.issues.map((i) => [String(i.path[0]), request.t(i.message)]));
      return renderLogin(request, reply, { values, errors }, 400);
    }
    const { username, password } = parsed.data;
    const keys = [`ip:${request.ip}`, `user:${username.toLowerCase()}`];
    const wait = throttle.retryAfter(keys);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      return renderLogin(request, reply, { values, error: request.t('login.throttled', { minutes: Math.ceil(wait / 60) }) }, 429);
    }
    let user: { name: string; source: 'local' | 'ldap'; generation?: number } | undefined;
    let message = 'login.invalid';
    if (await opts.admin.verify(username, password)) {
      user = { name: username, source: 'local', generation: opts.admin.generation };
    } else {
      const outcome = await authenticateLdap(opts.ldapSettings(), username, password);
      if (outcome.result === 'ok') {
        user = { name: username, source: 'ldap' };
        health = 'up';
      } else if (outcome.result === 'forbidden') {
        message = 'login.notAdmin';
        health = 'up';
      } else if (outcome.result === 'unreachable') {
        health = 'down';
        request.log.warn({ error: outcome.error }, 'LDAP unreachable');
      } else if (outcome.result === 'invalid' && opts.ldapSettings().enabled) {
        health = 'up';
      }
    }
    if (!user) {
      throttle.fail(keys);
      request.log.info({ username, ip: request.ip }, 'login failed');
      return renderLogin(request, reply, { values, error: request.t(message) }, 401);
    }
    throttle.succeed(keys);
    request.log.info({ username, source: user.source, ip: request.ip }, 'login');
    // New CSRF token at login: a token seen before login is useless after it.
    const { newSession } = await import('./session.js');
    request.session = { ...newSession(), user };
    return reply.redirect(values.next, 303);
  });

  app.post('/logout', async (request, reply) => {
    const { newSession } = await import('./session.js');
    request.session = newSession();
    request.flash('info', 'login.loggedOut');
    return reply.redirect('/login', 303);
  });
}, { name: 'auth', dependencies: ['session', 'view'] });
