// Stateless session in an encrypted + authenticated cookie (AES-256-GCM, key in a 0600 file).
// HttpOnly, SameSite=Lax, Secure when served over TLS; expires after 12 h without use.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fp from 'fastify-plugin';

export const SESSION_COOKIE = 'cloudy_session';
const MAX_AGE_S = 12 * 3600;
const RENEW_AFTER_S = 3600;

export interface SessionUser {
  name: string;
  source: 'local' | 'ldap';
  /** Local admin sessions die when the password changes (generation bump). */
  generation?: number;
}

export interface Flash {
  kind: 'success' | 'danger' | 'warning' | 'info';
  /** i18n key, translated when shown */
  key: string;
  params?: Record<string, string | number>;
}

export interface SessionData {
  csrf: string;
  user?: SessionUser;
  flash?: Flash[];
  /** epoch seconds */
  issuedAt: number;
}

export function sealSession(key: Buffer, data: SessionData): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(data), 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

export function unsealSession(key: Buffer, token: string | undefined): SessionData | undefined {
  if (!token || token.length > 8192) return undefined;
  try {
    const raw = Buffer.from(token, 'base64url');
    if (raw.length < 29) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    const json = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    const data = JSON.parse(json) as SessionData;
    if (typeof data.csrf !== 'string' || typeof data.issuedAt !== 'number') return undefined;
    if (Date.now() / 1000 - data.issuedAt > MAX_AGE_S) return undefined;
    return data;
  } catch {
    return undefined;
  }
}

export function newSession(): SessionData {
  return { csrf: randomBytes(24).toString('base64url'), issuedAt: Math.floor(Date.now() / 1000) };
}

declare module 'fastify' {
  interface FastifyRequest {
    session: SessionData;
    /** Adds a flash message shown on the next page. */
    flash(kind: Flash['kind'], key: string, params?: Flash['params']): void;
    /** Takes the pending flash messages (shown once). */
    takeFlash(): Flash[];
  }
}

export default fp(async (app, opts: { key: Buffer }) => {
  if (opts.key.length !== 32) throw new Error('session key must be 32 bytes');
  app.decorateRequest('session', null as unknown as SessionData);
  app.decorateRequest('flash', function (this: { session: SessionData }, kind: Flash['kind'], key: string, params?: Flash['params']) {
    (this.session.flash ??= []).push({ kind, key, params });
  });
  app.decorateRequest('takeFlash', function (this: { session: SessionData }) {
    const pending = this.session.flash ?? [];
    delete this.session.flash;
    return pending;
  });

  const original = new WeakMap<object, string>();
  app.addHook('onRequest', async (request) => {
    const existing = unsealSession(opts.key, request.cookies[SESSION_COOKIE]);
    request.session = existing ?? newSession();
    original.set(request, existing ? JSON.stringify(existing) : '');
  });
  app.addHook('onSend', async (request, reply) => {
    if (!request.session) return;
    const now = Math.floor(Date.now() / 1000);
    const changed = JSON.stringify(request.session) !== original.get(request);
    if (!changed && now - request.session.issuedAt < RENEW_AFTER_S) return;
    request.session.issuedAt = now;
    reply.setCookie(SESSION_COOKIE, sealSession(opts.key, request.session), {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: request.protocol === 'https',
      maxAge: MAX_AGE_S,
    });
  });
}, { name: 'session', dependencies: ['@fastify/cookie'] });
