import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { generateDrizzleJson, generateMigration } from 'drizzle-kit/api';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import config from '../drizzle.config.ts';
import * as schema from '../src/db/schema/index.ts';
import { describeSchema } from './support/catalog.ts';
import { freshDatabase } from './support/cluster.ts';

/**
 * The schema files (src/db/schema), drizzle-kit's snapshots (drizzle/meta) and the SQL our migrator
 * applies (drizzle/*.sql) describe one schema. Hand-written migrations are where they drift apart:
 * a snapshot left out makes `drizzle-kit generate` propose the migration again; SQL that creates
 * something other than the schema file says makes the code's idea of the database wrong.
 *
 * drizzle-kit runs on a temporary copy of drizzle/, so the repository is never written to, and
 * needs no database (no network either).
 */
const root = path.resolve(import.meta.dir, '..');
const folder = path.resolve(root, config.out ?? 'drizzle');
const kitBin = path.join(root, 'node_modules/drizzle-kit/bin.cjs');
const ORIGIN = '00000000-0000-0000-0000-000000000000';

type Journal = { entries: { idx: number; when: number; tag: string }[] };
type Snapshot = { id: string; prevId: string };

/** Every file under `dir`, relative path → content. */
async function files(dir: string): Promise<Map<string, string>> {
  const names = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  const entries = await Promise.all(
    names.map(async (e) => {
      const full = path.join(e.parentPath, e.name);
      return [path.relative(dir, full), await readFile(full, 'utf8')] as const;
    }),
  );
  return new Map(entries.sort(([a], [b]) => a.localeCompare(b)));
}

let scratch: string;
/** drizzle-kit with the project's config, but its `out` a copy of drizzle/ in `scratch`. */
async function drizzleKit(...args: string[]) {
  const proc = Bun.spawn([process.execPath, kitBin, ...args, '--config', 'drizzle.config.ts'], {
    cwd: scratch,
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, output: `${stdout}\n${stderr}` };
}

beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'stockroom-drizzle-'));
  await cp(folder, path.join(scratch, 'drizzle'), { recursive: true });
  const schemas = [config.schema ?? []].flat().map((s) => path.resolve(root, s));
  const copy = { ...config, schema: schemas, out: './drizzle' };
  await writeFile(path.join(scratch, 'drizzle.config.ts'), `export default ${JSON.stringify(copy, null, 2)};\n`);
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe('schema files, snapshots and migrations agree', () => {
  test('every migration in the journal has its snapshot, chained to the one before', async () => {
    const journal = JSON.parse(await readFile(path.join(folder, 'meta/_journal.json'), 'utf8')) as Journal;
    const present = await readdir(path.join(folder, 'meta'));
    const sqlFiles = (await readdir(folder)).filter((f) => f.endsWith('.sql')).sort();
    expect(sqlFiles).toEqual(journal.entries.map((e) => `${e.tag}.sql`).sort());
    // drizzle-kit diffs the schema against the last snapshot by name: no gaps, no strays.
    const expected = journal.entries.map((e) => `${String(e.idx).padStart(4, '0')}_snapshot.json`);
    expect(present.filter((f) => f.endsWith('_snapshot.json')).sort()).toEqual(expected);

    const problems: string[] = [];
    let prev = { id: ORIGIN, when: -Infinity };
    const ids = new Set<string>();
    // Numbers are handed out to branches ahead of their merge, so one may be missing for a while:
    // drizzle-kit numbers the next migration after the last entry's idx, and diffs against the last
    // snapshot by name, so what must hold is that they increase, each snapshot named by its entry's.
    let previousIdx = -1;
    for (const entry of journal.entries) {
      const prefix = String(entry.idx).padStart(4, '0');
      if (!(entry.idx > previousIdx) || !entry.tag.startsWith(`${prefix}_`)) problems.push(`${entry.tag}: idx ${entry.idx} after ${previousIdx}`);
      previousIdx = entry.idx;
      const snapshot = JSON.parse(await readFile(path.join(folder, 'meta', `${prefix}_snapshot.json`), 'utf8')) as Snapshot;
      if (snapshot.prevId !== prev.id) problems.push(`${entry.tag}: snapshot prevId ${snapshot.prevId}, the one before is ${prev.id}`);
      if (ids.has(snapshot.id)) problems.push(`${entry.tag}: snapshot id ${snapshot.id} used twice`);
      ids.add(snapshot.id);
      // src/db/migrate.ts (like drizzle's migrator) counts a migration as applied when one at least
      // as recent is recorded: one whose `when` is not above the one before is skipped, silently, on
      // every database. drizzle-kit stamps the clock's time; a `when` set by hand (0004's is 2027-01-15) can be ahead of it.
      if (!(entry.when > prev.when)) problems.push(`${entry.tag}: when ${entry.when} is not above the one before (${prev.when})`);
      prev = { id: snapshot.id, when: entry.when };
    }
    expect(problems).toEqual([]);
  });

  test('drizzle-kit check: the snapshots are valid and do not collide', async () => {
    const { code, output } = await drizzleKit('check');
    expect(output).toContain("Everything's fine");
    expect(output).not.toContain('Warning');
    expect(code).toBe(0);
  }, 30_000);

  test('drizzle-kit generate: the schema files are what the last snapshot says, no migration to write', async () => {
    const before = await files(path.join(scratch, 'drizzle'));
    const { code, output } = await drizzleKit('generate');
    const after = await files(path.join(scratch, 'drizzle'));
    // What it wrote is what the schema files have that the migrations lack (or the reverse).
    const written = Object.fromEntries([...after].filter(([name, text]) => name.endsWith('.sql') && before.get(name) !== text));
    expect(written).toEqual({});
    // A change it cannot decide alone (a rename?) makes it prompt, which fails without a terminal.
    expect(output).toContain('No schema changes, nothing to migrate');
    expect(code).toBe(0);
    expect(after).toEqual(before);
  }, 30_000);

  test('a database migrated by src/db/migrate.ts is the one drizzle-kit would create from the schema files', async () => {
    const migrated = await freshDatabase();
    const generated = await freshDatabase({ empty: true });
    try {
      // Functions live in the hand-written SQL only (drizzle has no model of them); a column default
      // of the schema calls this one, so it must exist first (its body is checked when it is called).
      await generated.sql.unsafe(`SET check_function_bodies = off`);
      await generated.sql.unsafe(`CREATE FUNCTION stockroom_default_location() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT id FROM locations WHERE is_default $$`);
      for (const statement of await generateMigration(generateDrizzleJson({}), generateDrizzleJson(schema))) {
        await generated.sql.unsafe(statement);
      }
      const [mine, drizzles] = await Promise.all([describeSchema(migrated.sql), describeSchema(generated.sql)]);
      expect(mine.length).toBeGreaterThan(100);
      const onlyMigrated = mine.filter((line) => !drizzles.includes(line));
      const onlyGenerated = drizzles.filter((line) => !mine.includes(line));
      expect({ onlyMigrated, onlyGenerated }).toEqual({ onlyMigrated: [], onlyGenerated: [] });
    } finally {
      await Promise.all([migrated.drop(), generated.drop()]);
    }
  }, 60_000);
});
