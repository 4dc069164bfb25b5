import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp } from '../../src/app.js';
import { PanelSettingsSchema } from '../../src/config.js';
import { RecordingRunner } from '../helpers/recording-runner.js';
import { createTempRoot } from '../helpers/temp-root.js';

describe('buildApp', () => {
  const root = createTempRoot();
  const base = mkdtempSync(path.join(tmpdir(), 'cloudy-app-'));
  afterAll(() => { root.cleanup(); rmSync(base, { recursive: true, force: true }); });

  it('still validates and serializes Fastify JSON schemas (their compilers load on demand)', async () => {
    const app = await buildApp({
      config: { configDir: path.join(base, 'etc'), dataDir: path.join(base, 'var'), rootPrefix: root.dir, settings: PanelSettingsSchema.parse({}) },
      runner: new RecordingRunner(),
      background: false,
    });
    app.get('/schema-check', {
      config: { public: true },
      schema: {
        querystring: { type: 'object', properties: { n: { type: 'integer', maximum: 10 } }, required: ['n'] },
        response: { 200: { type: 'object', properties: { n: { type: 'integer' } } } },
      },
    }, async (request) => ({ n: (request.query as { n: number }).n, hidden: 'dropped by the serializer' }));
    await app.ready();
    const ok = await app.inject('/schema-check?n=3');
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ n: 3 });
    expect((await app.inject('/schema-check?n=11')).statusCode).toBe(400);
    await app.close();
  });
});
