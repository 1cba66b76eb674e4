# syntax=docker/dockerfile:1
# modelport server and worker image. Build: docker build -t modelport .
# Stage 1 installs every dependency (native addons need a compiler) and builds the server and UI;
# stage 2 keeps only production dependencies and the built files, and runs as an unprivileged user.

FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Scripts run after the sources are in place (`prepare` builds them).
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY ui ./ui
COPY assets ./assets
COPY bin ./bin
RUN npm rebuild \
 && npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
# A 64 MB V8 semi-space, as `server --workers` gives its workers (README, "Defaults, and why"):
# a one-process server spent about 7% less CPU per one-row request with it (bench/serving).
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=64 \
    MODELPORT_HOST=0.0.0.0 \
    MODELPORT_PORT=5000 \
    MODELPORT_DATA=/data
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/assets ./assets
# The data folder holds only local working files when the stores are PostgreSQL, S3 and Redis.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 5000
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.MODELPORT_PORT||5000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "bin/modelport.js"]
CMD ["server"]
