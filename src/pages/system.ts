// System menu: change the local admin password, configure LDAP login.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { echoValues, parseForm } from '../lib/form.js';
import { LdapSettingsSchema, type LdapSettings } from '../config.js';

const PasswordFormSchema = z.object({
  current: z.string().min(1, 'validation.required'),
  password: z.string().min(10, 'password.tooShort').max(1024, 'validation.tooLong'),
  confirm: z.string(),
}).refine((f) => f.password === f.confirm, { path: ['confirm'], message: 'password.mismatch' });

const DN = z.string().trim().max(300, 'validation.tooLong').regex(/^([^\r\n]*)$/, 'ldap.errors.dn');
const checkbox = z.literal('on').optional().transform((v) => v === 'on');

export const LdapFormSchema = z.object({
  enabled: checkbox,
  urls: z.string().max(2000).transform((text) => text.split(/[\s,]+/).filter(Boolean))
    .pipe(z.array(z.string().regex(/^ldaps?:\/\/[A-Za-z0-9.\-[\]:]+\/?$/, 'ldap.errors.url')).max(4, 'ldap.errors.tooManyUrls')),
  bindDnPattern: DN.refine((v) => v === '' || v.includes('{user}'), 'ldap.errors.pattern'),
  searchBase: DN,
  searchFilter: z.string().trim().max(300).refine((v) => v === '' || (v.startsWith('(') && v.endsWith(')') && v.includes('{user}')), 'ldap.errors.filter'),
  searchBindDn: DN,
  searchBindPassword: z.string().max(300).optional(),
  adminGroupDn: DN,
  startTls: checkbox,
  tlsVerify: checkbox,
  timeoutMs: z.coerce.number({ error: 'validation.number' }).int('validation.number').min(200, 'validation.tooSmall').max(30_000, 'validation.tooBig'),
}).superRefine((form, ctx) => {
  if (form.enabled && form.urls.length === 0) ctx.addIssue({ code: 'custom', path: ['urls'], message: 'ldap.errors.urlsRequired' });
  if (form.enabled && !form.bindDnPattern && !form.searchBase) ctx.addIssue({ code: 'custom', path: ['bindDnPattern'], message: 'ldap.errors.howToFind' });
});

function ldapValues(settings: LdapSettings): Record<string, string> {
  return {
    enabled: settings.enabled ? 'on' : '',
    urls: settings.urls.join('\n'),
    bindDnPattern: settings.bindDnPattern,
    searchBase: settings.searchBase,
    searchFilter: settings.searchFilter,
    searchBindDn: settings.searchBindDn,
    searchBindPassword: '',
    adminGroupDn: settings.adminGroupDn,
    startTls: settings.startTls ? 'on' : '',
    tlsVerify: settings.tlsVerify ? 'on' : '',
    timeoutMs: String(settings.timeoutMs),
  };
}

export async function systemPages(app: FastifyInstance, opts: { saveLdap: (settings: LdapSettings) => Promise<void> }) {
  app.get('/system/password', async (request, reply) => reply.page('views/pages/password.eta', {
    title: 'password.title', errors: {}, local: request.session.user?.source === 'local',
  }));

  app.post('/system/password', async (request, reply) => {
    if (request.session.user?.source !== 'local') {
      return reply.page('views/pages/password.eta', { title: 'password.title', errors: {}, local: false }, 403);
    }
    const form = parseForm(PasswordFormSchema, request.body, request.t);
    if (!form.ok) return reply.page('views/pages/password.eta', { title: 'password.title', errors: form.errors, local: true }, 400);
    if (!(await app.auth.admin.verify(app.auth.admin.username, form.data.current))) {
      return reply.page('views/pages/password.eta', { title: 'password.title', errors: { current: request.t('password.wrongCurrent') }, local: true }, 400);
    }
    await app.auth.admin.changePassword(form.data.password);
    request.session.user = { ...request.session.user, generation: app.auth.admin.generation };
    request.log.info('local admin password changed');
    request.flash('success', 'password.changed');
    return reply.redirect('/', 303);
  });

  app.get('/system/ldap', async (_request, reply) => reply.page('views/pages/ldap.eta', {
    title: 'ldap.title', values: ldapValues(app.auth.ldapSettings()), errors: {}, health: app.auth.ldapHealth(),
  }));

  app.post('/system/ldap', async (request, reply) => {
    const form = parseForm(LdapFormSchema, request.body, request.t);
    if (!form.ok) {
      return reply.page('views/pages/ldap.eta', {
        title: 'ldap.title', values: { ...echoValues(request.body), searchBindPassword: '' }, errors: form.errors, health: app.auth.ldapHealth(),
      }, 400);
    }
    const { searchBindPassword, ...rest } = form.data;
    const current = app.auth.ldapSettings();
    const next = LdapSettingsSchema.parse({ ...current, ...rest, searchBindPassword: searchBindPassword || current.searchBindPassword });
    await opts.saveLdap(next);
    const health = await app.auth.checkLdapNow();
    request.flash(health === 'down' ? 'warning' : 'success', health === 'down' ? 'ldap.savedButDown' : 'ldap.saved');
    return reply.redirect('/system/ldap', 303);
  });
}
