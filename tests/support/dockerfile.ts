import { spawnSync } from 'bun';
import { cpSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Where there is no Docker engine, the Dockerfile's own steps run on the host: each stage is a
 * directory standing for its WORKDIR, COPY copies into it, RUN runs there with the stage's ENV.
 * Only what our Dockerfile uses is understood; anything else is an error, so a new instruction
 * cannot slip past the test unexercised.
 */
export type Instruction = { keyword: string; args: string };
export type Stage = { from: string; name: string | undefined; instructions: Instruction[] };
export type BuiltImage = {
  root: string;
  env: Record<string, string>;
  user: string | undefined;
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[] | undefined;
  volumes: string[];
};

export function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  const stages: Stage[] = [];
  for (const line of lines.map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const [, keyword, args] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (!keyword || args === undefined) throw new Error(`Dockerfile line not understood: ${line}`);
    if (keyword.toUpperCase() === 'FROM') {
      const [from, as, name] = args.split(/\s+/);
      stages.push({ from: from!, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile: ${keyword} before FROM`);
    stage.instructions.push({ keyword: keyword.toUpperCase(), args: args.trim() });
  }
  return stages;
}

/** `["a", "b"]` → ['a', 'b']; shell form → null. */
export function execForm(args: string): string[] | null {
  if (!args.startsWith('[')) return null;
  const parsed = JSON.parse(args) as unknown;
  return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : null;
}

/** Leading `--flag=value` options of COPY or HEALTHCHECK, and the rest. */
function options(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (let m = /^--([\w-]+)=(\S+)\s+/.exec(rest); m; m = /^--([\w-]+)=(\S+)\s+/.exec(rest)) {
    flags[m[1]!] = m[2]!;
    rest = rest.slice(m[0].length);
  }
  return { flags, rest };
}

type StageState = { dir: string; workdir: string; env: Record<string, string> };

/** A path in a stage's image filesystem → the host directory standing for it (only under WORKDIR). */
function onHost(state: StageState, imagePath: string): string {
  const absolute = path.posix.resolve(state.workdir, imagePath);
  const relative = path.posix.relative(state.workdir, absolute);
  if (relative.startsWith('..')) throw new Error(`Dockerfile path outside WORKDIR ${state.workdir}: ${imagePath}`);
  return path.join(state.dir, relative);
}

/** Runs the stages into `out/<stage>`; returns the last stage's runtime settings. */
export function buildOnHost(stages: Stage[], context: string, out: string): BuiltImage {
  const states = new Map<string, StageState>();
  let image: BuiltImage | undefined;
  stages.forEach((stage, index) => {
    const state: StageState = { dir: path.join(out, stage.name ?? String(index)), workdir: '/', env: {} };
    mkdirSync(state.dir, { recursive: true });
    image = { root: state.dir, env: state.env, user: undefined, entrypoint: [], cmd: [], healthcheck: undefined, volumes: [] };
    for (const { keyword, args } of stage.instructions) {
      switch (keyword) {
        case 'WORKDIR':
          state.workdir = path.posix.resolve(state.workdir, args);
          break;
        case 'ENV':
          for (const pair of args.split(/\s+/)) {
            const at = pair.indexOf('=');
            if (at < 1) throw new Error(`ENV not understood (KEY=value pairs only): ${args}`);
            state.env[pair.slice(0, at)] = pair.slice(at + 1);
          }
          break;
        case 'COPY': {
          const { flags, rest } = options(args);
          const parts = rest.split(/\s+/);
          const destination = parts.pop()!;
          const source = flags.from ? states.get(flags.from) : undefined;
          if (flags.from && !source) throw new Error(`COPY --from=${flags.from}: no such stage`);
          for (const part of parts) {
            const from = source ? onHost(source, part) : path.join(context, part);
            const to = onHost(state, destination.endsWith('/') ? path.posix.join(destination, path.posix.basename(part)) : destination);
            mkdirSync(path.dirname(to), { recursive: true });
            cpSync(from, to, { recursive: true });
          }
          break;
        }
        case 'RUN': {
          const result = spawnSync(['sh', '-c', args], { cwd: onHost(state, '.'), env: { PATH: process.env.PATH, HOME: process.env.HOME, ...state.env } });
          if (result.exitCode !== 0) throw new Error(`RUN ${args} failed (${result.exitCode}):\n${result.stdout}\n${result.stderr}`);
          break;
        }
        case 'USER':
          image.user = args;
          break;
        case 'VOLUME':
          image.volumes.push(args);
          break;
        case 'HEALTHCHECK':
          image.healthcheck = execForm(options(args).rest.replace(/^CMD\s+/, '')) ?? undefined;
          break;
        case 'ENTRYPOINT':
          image.entrypoint = execForm(args) ?? ['/bin/sh', '-c', args];
          break;
        case 'CMD':
          image.cmd = execForm(args) ?? ['/bin/sh', '-c', args];
          break;
        case 'EXPOSE':
          break;
        default:
          throw new Error(`Dockerfile instruction not run on the host by the tests: ${keyword}`);
      }
    }
    states.set(stage.name ?? String(index), state);
  });
  if (!image) throw new Error('Dockerfile has no stage');
  return image;
}
