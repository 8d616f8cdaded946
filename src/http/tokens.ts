import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.ts';
import type { Tokens } from './auth.ts';

/**
 * Tokens come from the environment. Outside production a missing one is generated once, kept in
 * the data directory (mode 600) and printed when it is created.
 */
export async function resolveTokens(config: Config, announce: (message: string) => void): Promise<Tokens> {
  if (config.adminToken && config.clientToken) return { admin: config.adminToken, client: config.clientToken };
  const file = path.join(config.dataDir, 'tokens.json');
  let stored: Partial<Tokens> = {};
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as Partial<Tokens>;
  } catch {
    // first start: generate below
  }
  // The file holds generated tokens only; a token given in the environment is never written to disk.
  const generated: Tokens = {
    admin: stored.admin ?? `adm_${randomBytes(24).toString('base64url')}`,
    client: stored.client ?? `cli_${randomBytes(24).toString('base64url')}`,
  };
  if (generated.admin !== stored.admin || generated.client !== stored.client) {
    await mkdir(config.dataDir, { recursive: true });
    await writeFile(file, JSON.stringify(generated, null, 2), { mode: 0o600 });
    const fresh = [
      !config.adminToken && generated.admin !== stored.admin ? `ADMIN_TOKEN=${generated.admin}` : undefined,
      !config.clientToken && generated.client !== stored.client ? `CLIENT_TOKEN=${generated.client}` : undefined,
    ].filter(Boolean);
    if (fresh.length > 0) announce(`generated API tokens (kept in ${file}):\n  ${fresh.join('\n  ')}`);
  }
  const tokens: Tokens = { admin: config.adminToken ?? generated.admin, client: config.clientToken ?? generated.client };
  return tokens;
}
