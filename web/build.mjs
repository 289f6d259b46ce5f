// Builds the chat page into dist/ (what `muse serve` serves at /): one bundled, minified module
// (app.js) with marked, DOMPurify and highlight.js inside, one stylesheet (app.css: the page's own plus
// highlight.js's theme) and index.html. Usage: node build.mjs [--outdir DIR]
import { build } from 'esbuild';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const i = process.argv.indexOf('--outdir');
const outdir = i > 0 ? process.argv[i + 1] : join(here, 'dist');

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
await build({
  entryPoints: [join(here, 'src/main.js')],
  bundle: true,
  format: 'esm',
  minify: true,
  sourcemap: true,
  target: ['es2022'],
  outfile: join(outdir, 'app.js'),
  legalComments: 'linked',
  logLevel: 'warning',
});
const theme = await readFile(join(here, 'node_modules/highlight.js/styles/github.css'), 'utf8');
const own = await readFile(join(here, 'src/style.css'), 'utf8');
await writeFile(join(outdir, 'app.css'), `${theme}\n${own}`);
await copyFile(join(here, 'index.html'), join(outdir, 'index.html'));
console.log(`web: built ${outdir}`);
