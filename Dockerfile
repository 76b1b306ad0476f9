# roomcast: one image for every role (api, ingest); the role is chosen by the command.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY infra ./infra
RUN npx tsc -p tsconfig.json && mkdir -p dist/player && cp -r src/player/replay src/player/live dist/player/ && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg pocketsphinx pocketsphinx-en-us ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY infra ./infra
ENV NODE_ENV=production SPOOL_DIR=/var/spool/roomcast
RUN mkdir -p /var/spool/roomcast && chown node:node /var/spool/roomcast
USER node
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/roomcast"]
CMD ["start"]
