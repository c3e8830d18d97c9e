// The third-party notices of what esbuild bundles into dist/ and media/dist/. A bundle is a copy of every
// package it inlines, and their licences (MIT, ISC, BSD, Blue Oak, Apache) ask that the copyright and
// licence text travel with each copy; the VSIX leaves the bundled packages' own folders out
// (scripts/package.mjs ignoreFileFor), so the texts travel in dist/THIRD_PARTY_NOTICES.txt instead.
//
// scripts/build.mjs calls writeNotices with the metafiles of its bundles; test/unit/notices.test.ts and
// scripts/package.mjs (the file must ship) check the result. Importing this module runs nothing.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const NOTICES_FILE = 'dist/THIRD_PARTY_NOTICES.txt';

/** A licence or notice file at a package's top level: LICENSE, LICENCE.md, COPYING, NOTICE.txt, LICENSE-MIT… */
const LICENCE_FILE = /^(licen[cs]e|copying|notice)([.-].*)?$/i;

/**
 * The package folders (relative to the build's working folder, as esbuild names its inputs) whose files
 * one or more bundles inlined, from esbuild metafiles. A package nested in another's node_modules is its own.
 */
export function bundledPackageDirs(metafiles) {
  const dirs = new Set();
  for (const meta of metafiles) {
    for (const input of Object.keys(meta.inputs ?? {})) {
      const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input.replace(/\\/g, '/'));
      if (m) dirs.add(m[1]);
    }
  }
  return [...dirs].sort();
}

/** One package's notice: its name, version and licence id from package.json, and its licence files' texts. */
export function packageNotice(root, dir) {
  const folder = join(root, dir);
  const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8'));
  const license = typeof manifest.license === 'string' ? manifest.license : manifest.license?.type ?? 'UNKNOWN';
  const files = readdirSync(folder).filter((f) => LICENCE_FILE.test(f)).sort();
  return {
    name: manifest.name ?? dir,
    version: manifest.version ?? '',
    license,
    texts: files.map((f) => ({ file: f, text: readFileSync(join(folder, f), 'utf8').trim() })),
  };
}

/** The notices file's text: a header, then one section per package (name and version order). */
export function noticesText(notices) {
  const sorted = [...notices].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
  const sections = sorted.map((n) => {
    const head = `${n.name}@${n.version} (${n.license})`;
    const body = n.texts.length
      ? n.texts.map((t) => `--- ${t.file}\n${t.text}`).join('\n\n')
      : `(the package has no licence file; its package.json says "${n.license}")`;
    return `${'='.repeat(80)}\n${head}\n${'='.repeat(80)}\n${body}\n`;
  });
  return [
    'MegaContext for VS Code bundles the following packages into dist/ and media/dist/ (esbuild).',
    'Their copyright and licence notices follow, as each package ships them.',
    '',
    ...sections,
  ].join('\n');
}

/** Writes `out` (relative to `root`, or absolute) for the bundles' metafiles; returns the notices, for the build's log. */
export function writeNotices(root, metafiles, out = NOTICES_FILE) {
  const notices = bundledPackageDirs(metafiles).map((dir) => packageNotice(root, dir));
  // Two copies of one version (nested installs) need one notice.
  const unique = [...new Map(notices.map((n) => [`${n.name}@${n.version}`, n])).values()];
  writeFileSync(resolve(root, out), noticesText(unique));
  return unique;
}
