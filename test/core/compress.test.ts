import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { negotiateEncoding } from '../../src/core/compress.js';
import { buildTestApp, type TestApp } from '../helpers/build-app.js';

describe('negotiateEncoding', () => {
  it('takes the highest q, then br > gzip > deflate', () => {
    expect(negotiateEncoding('gzip, deflate, br')).toBe('br');
    expect(negotiateEncoding('gzip, deflate')).toBe('gzip');
    expect(negotiateEncoding('deflate')).toBe('deflate');
    expect(negotiateEncoding('br;q=0.5, gzip;q=0.8')).toBe('gzip');
    expect(negotiateEncoding('x-gzip')).toBe('gzip');
    expect(negotiateEncoding('*')).toBe('br');
    expect(negotiateEncoding('br;q=0, *')).toBe('gzip');
  });

  it('gives nothing for identity, refusals and unknown encodings', () => {
    expect(negotiateEncoding(undefined)).toBeUndefined();
    expect(negotiateEncoding('')).toBeUndefined();
    expect(negotiateEncoding('identity')).toBeUndefined();
    expect(negotiateEncoding('gzip;q=0, br;q=0')).toBeUndefined();
    expect(negotiateEncoding('zstd')).toBeUndefined();
  });
});

describe('compressed answers', () => {
  let t: TestApp;
  beforeAll(async () => { t = await buildTestApp(); });
  afterAll(async () => t.close());

  const page = async (encoding?: string) =>
    t.app.inject({ url: '/login', headers: encoding ? { 'accept-encoding': encoding } : {} });

  it('compresses pages as asked, with the same content', async () => {
    const plain = await page();
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toContain('accept-encoding');
    for (const [encoding, unzip] of [['br', brotliDecompressSync], ['gzip', gunzipSync], ['deflate', inflateSync]] as const) {
      const res = await page(encoding);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-encoding']).toBe(encoding);
      expect(Number(res.headers['content-length'])).toBe(res.rawPayload.length);
      // the CSRF token differs per session: compare everything else
      const text = unzip(res.rawPayload).toString('utf8').replace(/value="[\w-]{20,}"/g, '');
      expect(text).toBe(plain.body.replace(/value="[\w-]{20,}"/g, ''));
    }
  });

  it('compresses static files (streams) and leaves small answers alone', async () => {
    const css = await t.app.inject({ url: `${t.app.assetPrefix}/bootstrap/css/bootstrap.min.css`, headers: { 'accept-encoding': 'gzip' } });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-encoding']).toBe('gzip');
    expect(css.headers['content-length']).toBeUndefined();
    expect(gunzipSync(css.rawPayload).toString('utf8')).toContain('Bootstrap');
    const health = await t.app.inject({ url: '/healthz', headers: { 'accept-encoding': 'br' } });
    expect(health.headers['content-encoding']).toBeUndefined();
    expect(health.json()).toEqual({ ok: true });
  });
});
