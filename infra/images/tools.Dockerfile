# syntax=docker/dockerfile:1.7
# shop/tools: the one-shot scripts of the deployments, on the services' base
# and production dependencies: the demo-data job (its default command) and
# the order smoke test.
#
#   docker build -f infra/images/tools.Dockerfile -t shop/tools:0.1.0 .
#   docker run --rm -e AUTH_JWT_SECRET=... --network <stack> shop/tools:0.1.0 \
#     node --import tsx infra/deploy/smoke-order.ts --gateway http://gateway:8080
ARG NODE_IMAGE=node:22.23.5-trixie-slim
# checkov:skip=CKV_DOCKER_7: NODE_IMAGE (above) pins node:22.23.5-trixie-slim; checkov does not expand ARG in FROM

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
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE} AS tools
WORKDIR /app
# Owned by root, read by the node user.
COPY --from=deps /app/ ./
COPY tsconfig.json ./
COPY platform/ platform/
COPY contracts/ contracts/
COPY infra/deploy/ infra/deploy/
COPY infra/local/demo-data.ts infra/local/demo-data.ts
# tsx's compile cache goes to /tmp, the writable directory under a read-only root filesystem.
ENV NODE_ENV=production \
    SHOP_ENV=production \
    TMPDIR=/tmp
USER node
STOPSIGNAL SIGTERM
# One-shot commands: nothing to probe.
HEALTHCHECK NONE
CMD ["node", "--import", "tsx", "infra/deploy/demo-data-job.ts"]
