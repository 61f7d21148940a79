// The status page's two scripts, served as files (no bundler, no build step): Chart.js's UMD build straight
// from its npm package, and the page's own plain-JS chart code beside this module.
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { projectPath } from '../../lib/paths';

// chart.js's package exports do not name the UMD file, so it is found beside the CommonJS entry point.
const CHART_JS = path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.js');
const SERIES_CHART_JS = projectPath('api', 'status', 'assets', 'series-chart.js');

export const CHART_JS_PATH = '/status/assets/chart.umd.js';
export const SERIES_CHART_JS_PATH = '/status/assets/series-chart.js';

export function registerAssets(app: FastifyInstance): void {
  for (const [route, file] of [
    [CHART_JS_PATH, CHART_JS],
    [SERIES_CHART_JS_PATH, SERIES_CHART_JS],
  ] as const) {
    // Read once, on first use: small files, and an installed package does not change under a running server.
    let body: Buffer | undefined;
    app.get(route, { schema: { hide: true } }, async (_request, reply) => {
      body ??= await fs.promises.readFile(file);
      return reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=300').send(body);
    });
  }
}
