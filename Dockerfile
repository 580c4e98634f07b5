# Edge gateway image. Native addons (better-sqlite3, serialport) compile in the build stage;
# the runtime stage carries only the built node_modules, sources and migrations.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY drivers ./drivers
COPY sync ./sync
COPY migrations ./migrations
COPY config ./config
COPY tsconfig.json ./

FROM node:20-bookworm-slim
# Live heap is ~30–40 MB; without a cap V8 lets garbage grow the RSS past 250 MB under load
# (see docs/benchmarks.md). Raise the cap for very large sites.
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-old-space-size=128 \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATABASE_PATH=/data/gateway.db \
    CONFIG_DIR=/app/config
WORKDIR /app
COPY --from=build /app /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SITE_ID and JWT_SECRET must be provided at run time (production refuses to start without them).
CMD ["node", "bin/gateway.js", "serve"]
