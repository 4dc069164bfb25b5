// Checks that every translation (ca, es, and any other language found) has exactly the keys and
// {{placeholders}} of English, for locales/<lng>/common.json and plugins/<id>/locales/<lng>.json.
//   npx tsx scripts/check-locales.ts      (npm run check-locales)
// Prints one line per problem and exits 1, or prints a summary and exits 0.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkLocaleFiles } from '../src/lib/locale-check.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const report = checkLocaleFiles(root);

if (report.problems.length > 0) {
  for (const problem of report.problems) console.log(problem);
  process.exitCode = 1;
} else {
  console.log(`locales ok: ${report.keys} keys in ${report.namespaces} namespaces x ${report.languages.length} languages`);
}
