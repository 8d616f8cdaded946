# The service on the official Bun image, at the version of package.json's packageManager.
#   docker build -t stockroom .
#   docker run -e DATABASE_URL=postgres://… -e ADMIN_TOKEN=… -e CLIENT_TOKEN=… -p 3000:3000 stockroom
# The image has no embedded PostgreSQL: DATABASE_URL is required. docker-compose.yml runs it with
# PostgreSQL, migrations and replicas. tests/packaging.test.ts runs this file's install, start and
# health check on the host (where there is no Docker engine).

FROM oven/bun:1.4.5 AS deps
WORKDIR /app
COPY package.json bun.lock ./
# bun applies these to the packages they name while installing (patchedDependencies).
COPY patches ./patches
# Exactly the lockfile, no dev dependencies, and no optional ones: embedded-postgres and its
# platform binaries are only for `bun run start` without DATABASE_URL.
RUN bun install --frozen-lockfile --production --omit=optional

FROM oven/bun:1.4.5-slim
WORKDIR /app
# DATA_DIR keeps the generated node id (NODE_ID unset): in the container's own filesystem, so two
# replicas never share one. No VOLUME on purpose.
ENV NODE_ENV=production PORT=3000 DATA_DIR=/home/bun/data
# The garbage collector sizes its heap to this much RAM instead of the machine's (as `bun run start`
# does): peak RSS under load ~270 MB instead of ~360-570 MB, same throughput (README, Operations).
ENV BUN_JSC_forceRAMSize=268435456
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY drizzle ./drizzle
COPY scripts/migrate.ts ./scripts/migrate.ts
COPY src ./src
# The base image's user; it owns /home/bun, and nothing under /app is writable by it.
USER bun
EXPOSE 3000
# No curl in the image: Bun's fetch, bounded below the check's timeout.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
  CMD ["bun", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health', { signal: AbortSignal.timeout(2000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form, no shell: bun is PID 1 and gets `docker stop`'s SIGTERM itself, then drains and exits 0.
ENTRYPOINT ["bun"]
CMD ["src/main.ts"]
