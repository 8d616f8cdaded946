import path from 'node:path';

const ENTRY = path.join(import.meta.dir, 'client/main.tsx');

let build: Promise<string> | undefined;

/**
 * The browser code, bundled by Bun in memory on first use: no build step to remember, nothing on
 * disk, and tests that never open the dashboard never pay for it. A failed build is not kept, so
 * the next request tries again.
 */
export function dashboardScript(): Promise<string> {
  build ??= Bun.build({ entrypoints: [ENTRY], target: 'browser', format: 'esm', minify: true })
    .then(async (result) => {
      const [bundle] = result.outputs;
      if (!result.success || !bundle) throw new AggregateError(result.logs, 'the dashboard could not be bundled');
      return bundle.text();
    })
    .catch((error: unknown) => {
      build = undefined;
      throw error;
    });
  return build;
}
