// Entry point: read the config, build the app, listen, close gracefully on SIGTERM/SIGINT.
import closeWithGrace from 'close-with-grace';
import { loadConfig } from './config.js';
import { buildApp } from './app.js';

const started = performance.now();
const config = await loadConfig();
const app = await buildApp({
  config,
  logger: { level: process.env.LOG_LEVEL ?? 'info' },
});
closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'closing after an error');
  else app.log.info({ signal }, 'closing');
  await app.close();
});
await app.listen({ host: config.settings.host, port: config.settings.port });
// performance.now() counts from the process start: `modulesMs` is node's own start plus loading the code
app.log.info({ startupMs: Math.round(performance.now()), modulesMs: Math.round(started), rootPrefix: config.rootPrefix }, 'Cloudy panel ready');
