# syntax=docker/dockerfile:1
#
# The cardio node: `docker build -t cardio .` then `docker run --rm cardio --help`.
# docker-compose.yml runs a 4-validator network from this image.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: all dependencies, TypeScript compiled to packages/*/dist ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Manifests first, so the dependency layer is rebuilt only when they change.
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY packages/node/package.json packages/node/
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json ./
COPY packages/core/tsconfig.json packages/core/
COPY packages/core/src packages/core/src
COPY packages/node/tsconfig.json packages/node/
COPY packages/node/src packages/node/src
RUN npm run build

# ---- deps: production dependencies only (no TypeScript, vitest, biome…) ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY packages/node/package.json packages/node/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- runtime: package manifests, production node_modules, compiled JavaScript ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=deps /app/packages/core/package.json packages/core/
COPY --from=deps /app/packages/node/package.json packages/node/
COPY --from=build /src/packages/core/dist packages/core/dist
COPY --from=build /src/packages/node/dist packages/node/dist
# `cardio` on the PATH (for `docker compose exec validator-0 cardio status`); keys, genesis and
# chain data live under /cardio, owned by the unprivileged `node` user of the base image, so that
# named volumes mounted there start with that owner.
RUN chmod 755 packages/node/dist/bin/cardio.js \
 && ln -s /app/packages/node/dist/bin/cardio.js /usr/local/bin/cardio \
 && mkdir -p /cardio/genesis /cardio/data \
 && chown -R node:node /cardio
USER node
WORKDIR /cardio
# 8645: HTTP API (loopback unless --api-host / CARDIO_API_HOST says otherwise); 9000: libp2p.
EXPOSE 8645 9000
ENTRYPOINT ["node", "/app/packages/node/dist/bin/cardio.js"]
CMD ["--help"]
