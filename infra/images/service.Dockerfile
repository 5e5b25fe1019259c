# syntax=docker/dockerfile:1.7
# One Dockerfile for the five services. The service is chosen with --target
# (its folder name), from the repository root:
#
#   docker build -f infra/images/service.Dockerfile --target order-service \
#     -t shop/order-service:0.2.0 .
#
# (`npm run images` builds all of them with their package versions.) A final
# stage per service, rather than a build argument, because an exec-form CMD
# expands neither ARG nor ENV: each stage names its folder literally, in its
# COPY and in its CMD, so the two cannot disagree, and the CMD is exactly the
# command `npm start` runs for that service (infra/local/stack.ts
# serviceCommand, with the tracing preload) with no shell in between. Every
# stage before those is shared, so the five builds reuse one dependency layer.
# An image holds one service, platform/ and contracts/ and nothing else.
#
# Debian slim (glibc): the lockfile's native packages are built for glibc.
ARG NODE_IMAGE=node:22.23.5-trixie-slim
# checkov:skip=CKV_DOCKER_7: NODE_IMAGE (above) pins node:22.23.5-trixie-slim; checkov does not expand ARG in FROM

# ---- production dependencies, from the lockfile and every workspace's package.json
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY platform/package.json platform/
COPY contracts/package.json contracts/
COPY catalog-service/package.json catalog-service/
COPY inventory-service/package.json inventory-service/
COPY order-service/package.json order-service/
COPY coordinator-service/package.json coordinator-service/
COPY analytics-service/package.json analytics-service/
# --ignore-scripts: no dependency runs code at build time; esbuild (tsx, the
# dashboard bundle) finds its binary in its platform package without its postinstall.
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- what every service image shares
FROM ${NODE_IMAGE} AS app
# The repository's layout: `<folder>/src/main.ts` resolves from WORKDIR, as from the repo root.
WORKDIR /app
# Files stay owned by root: the node user can read the application, never change it.
COPY --from=deps /app/ ./
COPY tsconfig.json ./
COPY platform/ platform/
COPY contracts/ contracts/
# tsx keeps its compile cache in the temporary directory: /tmp is the one
# writable place with a read-only root filesystem (a tmpfs or emptyDir there).
ENV NODE_ENV=production \
    SHOP_ENV=production \
    PORT=8080 \
    HOST=0.0.0.0 \
    TMPDIR=/tmp
EXPOSE 8080
# Uid 1000 of the base image; Kubernetes' runAsUser: 1000 matches it.
USER node
# The service stops on SIGTERM: it drains HTTP and the consumers within
# SHUTDOWN_TIMEOUT (10 s by default). Give it SHUTDOWN_TIMEOUT plus a margin
# before a SIGKILL: `docker stop -t 15`, compose `stop_grace_period: 15s`,
# Kubernetes `terminationGracePeriodSeconds: 20` (with its 3 s preStop pause).
STOPSIGNAL SIGTERM
# Liveness on /healthz. No curl in the slim image: Node's own fetch.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz',{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# ---- one final stage per service: its sources, and its start command with the tracing preload
FROM app AS catalog-service
COPY catalog-service/ catalog-service/
CMD ["node", "--import", "tsx", "--import", "./platform/src/observability/register-tracing.mjs", "catalog-service/src/main.ts"]

FROM app AS inventory-service
COPY inventory-service/ inventory-service/
CMD ["node", "--import", "tsx", "--import", "./platform/src/observability/register-tracing.mjs", "inventory-service/src/main.ts"]

FROM app AS order-service
COPY order-service/ order-service/
CMD ["node", "--import", "tsx", "--import", "./platform/src/observability/register-tracing.mjs", "order-service/src/main.ts"]

FROM app AS coordinator-service
COPY coordinator-service/ coordinator-service/
CMD ["node", "--import", "tsx", "--import", "./platform/src/observability/register-tracing.mjs", "coordinator-service/src/main.ts"]

FROM app AS analytics-service
COPY analytics-service/ analytics-service/
CMD ["node", "--import", "tsx", "--import", "./platform/src/observability/register-tracing.mjs", "analytics-service/src/main.ts"]
