// Where the project's own files are, whether the code runs from its TypeScript sources (tsx) or from the
// compiled JavaScript under dist/ (npm run build). Files read at run time — the catalog YAML, the
// migrations' SQL, the status page's templates and scripts, .tools/paths.json — are not copied into dist/:
// they are found from the project root, the nearest folder above this module holding a package.json
// (lib/ from the sources, dist/lib/ from the build; dist/ has no package.json of its own).
import fs from 'node:fs';
import path from 'node:path';

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}: cannot locate the project root`);
  }
}

/** The project root: the folder of package.json. */
export const PROJECT_ROOT = findRoot(__dirname);

/** A path under the project root, e.g. `projectPath('catalog', 'sources.yaml')`. */
export function projectPath(...segments: string[]): string {
  return path.join(PROJECT_ROOT, ...segments);
}
