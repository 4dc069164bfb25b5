// Turns zod issues into one translated message per form field. Schema messages are i18n keys
// ("snmp:errors.community"); zod's own codes fall back to generic keys in `common`.
import type { TFunction } from 'i18next';
import type { z } from 'zod';

export type FieldErrors = Record<string, string>;

export type FormResult<T> = { ok: true; data: T } | { ok: false; errors: FieldErrors };

const I18N_KEY = /^[a-z][\w-]*:[\w.-]+$|^validation\.[\w.]+$/;

export function translateIssues(issues: readonly z.core.$ZodIssue[], t: TFunction): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of issues) {
    const field = issue.path.length ? String(issue.path[0]) : '_form';
    if (errors[field]) continue;
    if (I18N_KEY.test(issue.message)) {
      const params = issue as unknown as { minimum?: unknown; maximum?: unknown };
      errors[field] = t(issue.message, { min: params.minimum, max: params.maximum });
      continue;
    }
    switch (issue.code) {
      case 'too_small': errors[field] = t('validation.tooSmall', { min: String(issue.minimum) }); break;
      case 'too_big': errors[field] = t('validation.tooBig', { max: String(issue.maximum) }); break;
      case 'invalid_type': errors[field] = t('validation.required'); break;
      default: errors[field] = t('validation.invalid');
    }
  }
  return errors;
}

export function parseForm<S extends z.ZodType>(schema: S, body: unknown, t: TFunction): FormResult<z.infer<S>> {
  const result = schema.safeParse(body ?? {});
  return result.success ? { ok: true, data: result.data } : { ok: false, errors: translateIssues(result.error.issues, t) };
}

/** Form values as the user typed them, to refill the form after an error (strings only). */
export function echoValues(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (body && typeof body === 'object') {
    for (const [key, value] of Object.entries(body)) {
      if (key !== '_csrf' && typeof value === 'string') out[key] = value.slice(0, 2000);
    }
  }
  return out;
}
