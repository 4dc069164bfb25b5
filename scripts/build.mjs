// `npm run build`: type-check (tsc, no output), then bundle the panel with esbuild into dist/src/:
// server.js and cli.js (the entry points the Debian unit, debian/rules and scripts/run-panel use)
// plus chunks for what loads on first use only (execa, ldapts). One file to load instead of ~600
// modules: the panel starts in a fraction of the time and with less memory. views/, locales/,
// public/ and plugins/*/{views,locales} stay where they are, found from dist/src/ (PROJECT_ROOT).
//   node scripts/build.mjs [--no-check]   (--no-check: skip tsc, e.g. when iterating)
//   BUILD_PLAIN=1    no minification (readable bundle, e.g. for profiles)
//   BUILD_ANALYZE=1  print what the bundle is made of
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist', 'src');

if (!process.argv.includes('--no-check')) {
  const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--noEmit'], { cwd: root, stdio: 'inherit' });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
}

rmSync(path.join(root, 'dist'), { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: ['src/server.ts', 'src/cli.ts'],
  outdir,
  // chunks next to the entry points: PROJECT_ROOT is computed from the location of the code
  chunkNames: '[name]-[hash]',
  bundle: true,
  splitting: true, // dynamic import() stays lazy: its module becomes a chunk loaded on first use
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked', // for node --enable-source-maps when debugging; debian/rules drops them
  legalComments: 'linked', // third-party license notices go to *.LEGAL.txt next to the bundle
  // smaller source to parse at every start (and kept in memory by V8); names stay readable in stack traces
  minifyWhitespace: process.env.BUILD_PLAIN !== '1',
  minifySyntax: process.env.BUILD_PLAIN !== '1',
  metafile: true,
  logLevel: 'warning',
  // CommonJS dependencies call require() for node built-ins: give the ES modules one
  banner: { js: "import { createRequire as __cloudyCreateRequire } from 'node:module'; const require = __cloudyCreateRequire(import.meta.url);" },
});

const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.js'));
for (const [file, { bytes }] of outputs) console.log(`${path.relative(root, path.join(root, file)).padEnd(48)} ${(bytes / 1024).toFixed(0).padStart(6)} KB`);
if (process.env.BUILD_ANALYZE) {
  const { analyzeMetafile } = await import('esbuild');
  console.log(await analyzeMetafile(result.metafile, { verbose: false }));
}
