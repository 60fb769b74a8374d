# Quell container image. One image serves every role; the command picks it:
#   start   - API and workers in one process (default)
#   api     - Alertmanager webhook ingest + REST API on :9280
#   worker  - BullMQ workers (metrics on QUELL_METRICS_PORT)
#   migrate - apply database migrations and exit
#
# Build from the repo root:   docker build -t quell .

# ---------------------------------------------------------------------------
# Stage 1: compile TypeScript with the full (dev) dependency set.
# ---------------------------------------------------------------------------
# Node.js 24, the LTS line (package.json's engines field, >=20.19, is the oldest that works).
FROM node:24.11.1-bookworm-slim AS build
WORKDIR /app

# re2 (the matchers' linear-time regex engine) is a native addon; without a prebuilt binary it
# compiles from source, which needs a C++ toolchain.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*

# Manifests first so the dependency layer is cached across source edits.
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --no-audit --no-fund

# tsconfig.json includes all four trees (rootDir "."), so they must all be
# present for tsc; output lands in dist/ with the entry at dist/src/cli.js.
COPY src ./src
COPY connectors ./connectors
COPY scripts ./scripts
COPY test ./test
COPY rules ./rules
RUN npx tsc -p tsconfig.json

# ---------------------------------------------------------------------------
# Stage 2: runtime with production dependencies only.
# ---------------------------------------------------------------------------
FROM node:24.11.1-bookworm-slim AS runtime
WORKDIR /app

ENV NODE_ENV=production \
    QUELL_RULES_DIR=/app/rules \
    QUELL_DATA_DIR=/var/lib/quell

# Unprivileged user with a fixed uid so host-side volume permissions are
# predictable (chown 10001 on a bind mount for QUELL_DATA_DIR).
RUN groupadd --system --gid 10001 quell \
 && useradd --system --uid 10001 --gid quell --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin quell \
 && mkdir -p /var/lib/quell \
 && chown quell:quell /var/lib/quell

# --ignore-scripts: no install hooks run in the production image; the one native addon that
# Quell needs (re2) comes compiled from the build stage, on the same base image and Node.js.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /app/node_modules/re2/build/Release/re2.node ./node_modules/re2/build/Release/re2.node

# Code and bundled rules stay root-owned, i.e. read-only for the quell user.
# Only the engine and its connectors: compiled tests and scripts stay in the build stage.
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/connectors ./dist/connectors
COPY --from=build /app/rules ./rules

USER quell
EXPOSE 9280

# The slim image has no curl/wget, so probe with node's own http module.
# Only the api/start roles listen on 9280; docker-compose overrides this
# check for the worker (metrics port) and the one-shot migrate job.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "require('http').get({host:'127.0.0.1',port:9280,path:'/healthz',timeout:4000},r=>process.exit(r.statusCode===200?0:1)).on('timeout',()=>process.exit(1)).on('error',()=>process.exit(1))"]

ENTRYPOINT ["node", "/app/dist/src/cli.js"]
CMD ["start"]
