import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The folder of this package (where `models/` lives), found from any of its built files: the bundles
 * in dist/ and the transpiled tree in out/src/ sit at different depths.
 */
export function packageRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'models'))) return dir;
    if (dirname(dir) === dir) return join(from, '..');
  }
}
