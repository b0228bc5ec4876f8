/**
 * Bundles the berth CLI (src/cli/main.ts and everything it imports, npm
 * packages included) into dist/bin/berth.js plus the chunks its command
 * groups load on demand. Run by `npm run build` after tsc, which has already
 * type-checked the same sources.
 *
 * Why a bundle: a CLI process is mostly start-up. Unbundled, every call
 * resolves, reads and links about 130 ES modules plus commander's CommonJS
 * files; bundled, `berth --version` took 295-301 ms against 354-355 ms and
 * `berth ps -a` 287-319 ms against 360-386 ms (20 calls each, back to back,
 * 2026-12-06). The daemon stays unbundled: it starts once.
 *
 * esbuild (well kept, one static binary per platform) rather than a bundler
 * of our own. Chunks keep the command groups lazy, as src/cli/main.ts wants.
 */
import { build } from 'esbuild';
import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist', 'bin');

await build({
  absWorkingDir: root,
  entryPoints: { berth: 'src/cli/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  chunkNames: 'chunks/[name]-[hash]',
  // A native addon cannot be inlined (only the daemon uses it; kept out in case that changes).
  external: ['node-unix-socket'],
  // Bundled CommonJS packages (commander, bcryptjs) call require() for node's modules: an ES
  // module has none, so each output file gets one.
  banner: { js: "import { createRequire as __berthCreateRequire } from 'node:module'; const require = __berthCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
await chmod(path.join(outdir, 'berth.js'), 0o755);
