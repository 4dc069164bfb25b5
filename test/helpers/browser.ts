// Browser tier: Debian's chromium through playwright-core (no browser download), a panel listening
// on loopback, what the pages report (console errors, uncaught errors, CSP violations, dialogs),
// login, screenshots in test-output/screenshots, and the checks every settings page repeats.
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const SHOTS = path.join(REPO, 'test-output', 'screenshots');
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Debian's chromium, headless. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** Listens on 127.0.0.1 (any free port); returns the base URL. */
export async function listenOnLoopback(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
}

/**
 * What the watched pages reported: console errors (CSP violations show up there too), uncaught
 * errors, dialogs (dismissed: remote data must never open one) and, per watched context, CSP
 * violations as the page sees them (also when the console message wording changes).
 */
export class PageErrors {
  readonly problems: string[] = [];
  /** Error statuses a test provokes on purpose (a form re-shown with errors is a 400): each forgiven once. */
  readonly expectedHttpErrors: { status: number; path: string }[] = [];

  watch(page: Page, label: string): void {
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const failed = /^Failed to load resource: the server responded with a status of (\d+)/.exec(message.text());
      if (failed) {
        const where = new URL(message.location().url || page.url()).pathname;
        const index = this.expectedHttpErrors.findIndex((e) => e.status === Number(failed[1]) && e.path === where);
        if (index >= 0) { this.expectedHttpErrors.splice(index, 1); return; }
      }
      this.problems.push(`${label} console: ${message.text()} @ ${message.location().url || page.url()}`);
    });
    page.on('pageerror', (error) => this.problems.push(`${label} pageerror: ${error.message} @ ${page.url()}`));
    page.on('dialog', (dialog) => {
      this.problems.push(`${label} dialog (${dialog.type()}): ${dialog.message()} @ ${page.url()}`);
      void dialog.dismiss().catch(() => undefined);
    });
  }

  async watchCsp(context: BrowserContext, label: string): Promise<void> {
    await context.exposeBinding('__cloudyCspViolation', (_source, text: string) => { this.problems.push(`${label} CSP: ${text}`); });
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        (window as unknown as { __cloudyCspViolation(text: string): void })
          .__cloudyCspViolation(`${event.violatedDirective} blocked ${event.blockedURI || 'inline'} @ ${event.documentURI}`);
      });
    });
  }
}

/** Logs in as admin through the login form and waits for the status page. */
export async function loginInBrowser(page: Page, baseUrl: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.fill('#f-username', 'admin');
  await page.fill('#f-password', password);
  await Promise.all([page.waitForURL(`${baseUrl}/`), page.click('[data-testid=login-submit]')]);
}

/** A full-page screenshot in test-output/screenshots/<name>.png (which must not be empty). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  expect(statSync(file).size, `${name}.png looks empty`).toBeGreaterThan(10_000);
  return file;
}

export type Json = Record<string, unknown>;

/** A JSON file of this repository (locales), by its path from the repository root. */
export const readRepoJson = (relative: string): Json => JSON.parse(readFileSync(path.join(REPO, relative), 'utf8')) as Json;

/** "a.b.c" out of a nested locale object; fails loudly when the key is missing. */
export function localeString(locale: Json, key: string): string {
  const value = key.split('.').reduce<unknown>((node, part) => (node as Json | undefined)?.[part], locale);
  if (typeof value !== 'string') throw new Error(`locale key ${key} missing`);
  return value;
}

/**
 * A field error of a form re-shown with errors: visible, with this text, right under its own
 * input, which keeps what was typed, is marked invalid and points at the message.
 */
export async function expectFieldError(page: Page, name: string, text: string | undefined, typed: string): Promise<void> {
  const error = page.locator(`[data-field-error=${name}]`);
  expect(await error.isVisible(), `error of ${name} visible`).toBe(true);
  expect((await error.textContent())?.trim()).toBe(text);
  const input = page.locator(`#f-${name}`);
  expect(await input.inputValue()).toBe(typed);
  expect(await input.getAttribute('class')).toContain('is-invalid');
  expect(await input.getAttribute('aria-describedby')).toContain(`f-${name}-error`);
  // "next to": the message sits right under its own input
  const [inputBox, errorBox] = [await input.boundingBox(), await error.boundingBox()];
  expect(errorBox!.y).toBeGreaterThanOrEqual(inputBox!.y + inputBox!.height - 1);
  expect(errorBox!.y - (inputBox!.y + inputBox!.height)).toBeLessThan(40);
}

/** On a job page: waits until the job succeeded, and the progress says 100 %. */
export async function waitForJobSucceeded(page: Page): Promise<void> {
  await page.waitForSelector('#job-state[data-state=succeeded]', { timeout: 20_000 });
  expect(await page.getAttribute('#job-progress', 'aria-valuenow')).toBe('100');
  expect((await page.textContent('#job-bar'))?.trim()).toBe('100%');
}

/** On a finished job page: waits until the bar (animated) fills its track. */
export async function waitForFullJobBar(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const bar = document.getElementById('job-bar')!.getBoundingClientRect();
    const track = document.getElementById('job-progress')!.getBoundingClientRect();
    return Math.abs(bar.width - track.width) < 1;
  }, undefined, { timeout: 5_000 });
}
