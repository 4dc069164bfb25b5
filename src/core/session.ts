// Stateless session in an encrypted + authenticated cookie (AES-256-GCM, key in a 0600 file).
// HttpOnly, SameSite=Lax, Secure when served over TLS; expires after 12 h without use.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';

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
  const json = decrypt(key, token);
  return json === undefined ? undefined : checked(json);
}

/** The JSON a token carries, if it is authentic (AES-GCM checks the tag). */
function decrypt(key: Buffer, token: string | undefined): string | undefined {
  if (!token || token.length > 8192) return undefined;
  try {
    const raw = Buffer.from(token, 'base64url');
    if (raw.length < 29) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

/** A fresh session object from authentic JSON, unless it is malformed or expired. */
function checked(json: string): SessionData | undefined {
  try {
    const data = JSON.parse(json) as SessionData;
    if (typeof data.csrf !== 'string' || typeof data.issuedAt !== 'number') return undefined;
    if (Date.now() / 1000 - data.issuedAt > MAX_AGE_S) return undefined;
    return data;
  } catch {
    return undefined;
  }
}

/** Authentic tokens seen lately and their JSON: a browser sends the same cookie for an hour. */
const RECENT_TOKENS = 512;

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
    /** The session's JSON as the cookie carried it ('' for a new session); set on first use. */
    sessionJson: string;
    /** The session once used in this request (null before): internal, use `session`. */
    sessionData: SessionData | null;
  }
}

export default fp(async (app, opts: { key: Buffer }) => {
  if (opts.key.length !== 32) throw new Error('session key must be 32 bytes');
  app.decorateRequest('flash', function (this: { session: SessionData }, kind: Flash['kind'], key: string, params?: Flash['params']) {
    (this.session.flash ??= []).push({ kind, key, params });
  });
  app.decorateRequest('takeFlash', function (this: { session: SessionData }) {
    const pending = this.session.flash ?? [];
    delete this.session.flash;
    return pending;
  });

  // Decrypting is deterministic, so the JSON of an authentic token can be remembered (bounded,
  // oldest first out); expiry is still checked on every request, on a fresh object.
  const recent = new Map<string, string>();
  const open = (token: string | undefined): string | undefined => {
    if (!token) return undefined;
    let json = recent.get(token);
    if (json === undefined) {
      json = decrypt(opts.key, token);
      if (json === undefined) return undefined;
      if (recent.size >= RECENT_TOKENS) recent.delete(recent.keys().next().value!);
      recent.set(token, json);
    }
    return json;
  };
  // Loaded on first use: answers that never look at the session (assets, /healthz) neither
  // decrypt the cookie nor send one back.
  app.decorateRequest('sessionJson', '');
  app.decorateRequest('sessionData', null);
  app.decorateRequest('session', {
    getter(this: FastifyRequest): SessionData {
      if (this.sessionData === null) {
        const json = open(this.cookies?.[SESSION_COOKIE]); // no cookies yet if an earlier hook failed
        const existing = json === undefined ? undefined : checked(json);
        // what the cookie said, to tell on the way out whether the session changed
        // (JSON.stringify of a parsed JSON.stringify output gives the same text back)
        this.sessionJson = existing ? json! : '';
        this.sessionData = existing ?? newSession();
      }
      return this.sessionData;
    },
    setter(this: FastifyRequest, value: SessionData) {
      this.sessionData = value;
    },
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    const session = request.sessionData;
    if (session === null) return done(null, payload);
    const now = Math.floor(Date.now() / 1000);
    const changed = JSON.stringify(session) !== request.sessionJson;
    if (changed || now - session.issuedAt >= RENEW_AFTER_S) {
      session.issuedAt = now;
      reply.setCookie(SESSION_COOKIE, sealSession(opts.key, session), {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: request.protocol === 'https',
        maxAge: MAX_AGE_S,
      });
    }
    done(null, payload);
  });
}, { name: 'session', dependencies: ['@fastify/cookie'] });
