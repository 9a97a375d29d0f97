# The hub as an image, for docker-compose.yml (several hubs on one MongoDB replica set). The compilers build
# ssh2's native ciphers and the malloc_trim binding at install (setup/); the web app is built into the image.
FROM node:24-bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /hub
COPY package.json package-lock.json ./
COPY setup ./setup
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build:ui
# A named volume mounted here takes this folder's owner, so the hub can write its data dir without root.
RUN mkdir /data && chown node:node /data
USER node
# As `npm start`: two malloc arenas instead of one per thread, and compiled code cached from the first module on
# (README, "Memory").
ENV MALLOC_ARENA_MAX=2
ENV NODE_COMPILE_CACHE=/tmp/node-compile-cache
CMD ["node", "hub.ts"]
