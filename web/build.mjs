// Builds the dashboard into dist/: index.html, app.js and app.css (minified), nothing else.
// `vane serve` embeds these three files: index.html at "/", the others at "/assets/app.js" and "/assets/app.css".
import * as esbuild from 'esbuild';
import { readFile, writeFile, rm, mkdir, readdir, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(root, 'dist');

await rm(dist, { recursive: true, force: true });
await mkdir(dist);

await esbuild.build({
  absWorkingDir: root,
  entryPoints: { app: 'src/main.js' }, // main.js imports the CSS: esbuild writes app.css beside app.js
  outdir: 'dist',
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2020',
  legalComments: 'none',
  banner: {
    js: '/*! vane dashboard. Bundles d3-force, d3-selection, d3-dispatch, d3-quadtree, d3-timer (ISC, Mike Bostock) and uPlot (MIT, Leon Sorokin). */',
    css: '/*! vane dashboard. Includes uPlot.css (MIT, Leon Sorokin). */',
  },
  logLevel: 'warning',
});

// index.html: comments and the indentation between tags removed (no text in it spans lines).
const html = (await readFile(path.join(root, 'src/index.html'), 'utf8'))
  .replace(/<!--[\s\S]*?-->/g, '')
  .replace(/>\s*\n\s*</g, '><')
  .trim();
await writeFile(path.join(dist, 'index.html'), html + '\n');

for (const f of (await readdir(dist)).sort()) console.log(`dist/${f}  ${((await stat(path.join(dist, f))).size / 1024).toFixed(1)} KiB`);
