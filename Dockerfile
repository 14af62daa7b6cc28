# syntax=docker/dockerfile:1
#
# Koppa's image, in three stages:
#   build    compiles the broker (npm run build) and the load generator with every dependency;
#   loadgen  the load generator of the docker-compose stack (`docker build --target loadgen`);
#   koppa    the broker (the default target): production dependencies and dist/ only.
#
#   docker build -t koppa .
#   docker run koppa broker --config /etc/koppa/broker.conf --metadata-store-url zk:HOST:2181/koppa

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json tsconfig.loadgen.json ./
COPY scripts/copy-manifests.mjs scripts/load-generator.ts ./scripts/
COPY src ./src
COPY plugins ./plugins
RUN npm run build && npx tsc -p tsconfig.loadgen.json

# The load generator needs kafkajs only, a devDependency of the project (its tests' client).
# kafkajs has no dependencies of its own, so its folder, as `npm ci` installed it from the
# lockfile, is a complete install: copied alone, the stage gets the locked version and nothing
# of the build toolchain.
FROM node:20-bookworm-slim AS loadgen
ENV NODE_ENV=production
WORKDIR /app
# package.json says "type": "module": the compiled load generator is an ES module.
COPY package.json ./
COPY --from=build /app/node_modules/kafkajs ./node_modules/kafkajs
COPY --from=build /app/dist/loadgen/load-generator.js ./
USER node
ENTRYPOINT ["node", "/app/load-generator.js"]

FROM node:20-bookworm-slim AS koppa
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/plugins ./dist/plugins
COPY bin ./bin
COPY docker/broker.conf /etc/koppa/broker.conf
# The data directory belongs to `node`: a named volume mounted there starts with this owner.
RUN ln -s /app/bin/koppa.js /usr/local/bin/koppa \
  && mkdir -p /var/lib/koppa \
  && chown node:node /var/lib/koppa
USER node
# Kafka, and HTTP (/metrics, /healthz, /readyz, /admin).
EXPOSE 9092 8080
ENTRYPOINT ["koppa"]
CMD ["broker", "--config", "/etc/koppa/broker.conf"]
