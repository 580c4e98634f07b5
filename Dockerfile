# Edge gateway image: the compiled daemon (dist/) on Node 24 LTS, without dev tooling.
# Pinned to an exact Node release so a rebuild cannot change the runtime; raise it with each
# Node 24 security release (docs/operations.md, docs/adr/0007-node-24-lts.md).
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# Production dependencies only; native addons (better-sqlite3, serialport) compile here.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# TypeScript → dist/ with the dev dependencies (typescript), which stay in this stage.
FROM deps AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY drivers ./drivers
COPY sync ./sync
RUN node bin/build.js

FROM ${NODE_IMAGE}
# Live heap is ~30–40 MB; without a cap V8 lets garbage grow the RSS past 250 MB under load, and
# its default 16 MB semi-spaces add ~25 MB more (see docs/benchmarks.md). Same as `npm start`.
# Raise the cap for very large sites.
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-old-space-size=128 --max-semi-space-size=4" \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATABASE_PATH=/data/gateway.db \
    CONFIG_DIR=/app/config
WORKDIR /app
# No src/ here: bin/gateway.js then runs dist/ as it is and never tries to build.
COPY package.json package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY migrations ./migrations
COPY config ./config
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SITE_ID and JWT_SECRET must be provided at run time (production refuses to start without them).
# node runs as PID 1 with its own SIGTERM handler: `docker stop` reaches the gateway directly.
CMD ["node", "bin/gateway.js", "serve"]
