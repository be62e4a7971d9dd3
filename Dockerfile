# Easel container: `docker compose up` (see docker-compose.yml), or
#   docker build -t easel . && docker run --env-file .env -p 127.0.0.1:7860:7860 -p 127.0.0.1:9464:9464 easel
# (.env must set EASEL_PLAYGROUND_TOKEN: the playground binds 0.0.0.0 in the container.)
# Runs the TypeScript sources through tsx (no build step), as a non-root user, with data in /data.

# ---- dependencies: production packages only, native modules built here ----
FROM node:20-bookworm-slim AS deps
WORKDIR /app
# better-sqlite3's install script (approved in package.json "allowScripts", like esbuild's) fetches a
# prebuilt binary, or compiles one with these tools when none matches; they stay in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Fail the build here, not at first start, if the native modules did not install.
RUN npm ci --omit=dev --no-audit --no-fund \
 && node -e "new (require('better-sqlite3'))(':memory:').close(); require('sharp')" \
 && npm cache clean --force

# ---- runtime ----
FROM node:20-bookworm-slim AS runtime
# Fonts for the labels drawn on results (ladder captions, V/U numbers): sharp renders them via fontconfig.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fontconfig-config fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
# The playground listens on 0.0.0.0 here, so it refuses to start without EASEL_PLAYGROUND_TOKEN (pass it
# with --env-file or -e; it is a secret, never baked into the image).
ENV NODE_ENV=production \
    EASEL_DATA_DIR=/data \
    EASEL_PLAYGROUND_HOST=0.0.0.0 \
    EASEL_OPS_HOST=0.0.0.0 \
    EASEL_PLAYGROUND_PORT=7860 \
    EASEL_OPS_PORT=9464 \
    SLACK_PORT=3000
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --chown=root:root package.json package-lock.json ./
COPY --chown=root:root bin ./bin
COPY --chown=root:root src ./src
COPY --chown=root:root config ./config
# The image's own user "node" (uid 1000) owns only the data folder; the code stays read-only to it.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]

# 7860 playground (every API call needs EASEL_PLAYGROUND_TOKEN; still best published to localhost only), 9464 /healthz + /metrics, 3000 Slack Events API (http mode)
EXPOSE 7860 9464 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.EASEL_OPS_PORT || 9464) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

STOPSIGNAL SIGTERM
CMD ["node", "bin/easel.mjs", "start"]
