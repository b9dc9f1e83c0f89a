# switchyard image: Node.js 24 slim, dist/ and production dependencies only, runs as `node`.
#   docker build -t switchyard .
#   docker run --rm -p 8080:8080 -v ./my.yaml:/etc/switchyard/switchyard.yaml:ro switchyard
# test/contract/docker.test.ts replays every step of this file without Docker (docs/deploying.md):
# keep to the instructions it understands, and to relative paths in RUN.

# 1. Build: all dependencies, then the TypeScript build. --ignore-scripts because the
#    `prepare` script would build before src/ is here; the build runs once it is.
FROM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npm run build

# 2. Production dependencies, in a stage of their own: no dev dependency can reach the image.
FROM node:24-slim AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# 3. The image. Files stay root-owned and read-only to the `node` user (uid 1000).
FROM node:24-slim
ENV SWITCHYARD_CONFIG=/etc/switchyard/switchyard.yaml
WORKDIR /app
COPY package.json ./
COPY --from=deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# The example config; mount your own over it.
COPY config/switchyard.yaml /etc/switchyard/switchyard.yaml
USER node
# The example config's listener and admin ports. The admin port listens on 127.0.0.1 unless
# the config sets admin.address: 0.0.0.0 (needed to scrape /metrics from outside).
EXPOSE 8080 9090
# SIGTERM (docker stop): graceful drain, exit 0. Give it more than shutdown_timeout
# (default 30s): docker stop --time 40, or stop_grace_period in compose.
STOPSIGNAL SIGTERM
# No curl in slim images: node itself asks the admin port, from inside the container, so
# 127.0.0.1 reaches it with admin.address 127.0.0.1 or 0.0.0.0. A config with another
# admin.port needs its own HEALTHCHECK (docker run --health-cmd ...).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9090/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/cli.js"]
