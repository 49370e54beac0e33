# syntax=docker/dockerfile:1
# aestream images: one binary, the command picks the process (detect, train, produce, ...).
#
#   docker build -t aestream .                           CPU: tfjs-node, onnxruntime-node (default target)
#   docker build --target gpu -t aestream:gpu .          GPU: CUDA + cuDNN base, tfjs-node-gpu
#   docker run aestream detect -p pipelines/sensors.yaml
#
# /metrics, /healthz and /readyz of `detect` are on port 9464 (--metrics-port). Model stores
# of the bundled pipelines are under /app/models (a volume); pipelines/ and schemas/ are
# copied in, mount your own pipeline files over /app/pipelines or anywhere and pass -p.
ARG NODE_IMAGE=node:20-bookworm-slim
# tfjs-node-gpu 4.x loads libtensorflow 2.9 (CUDA 11.x, cuDNN 8); any CUDA 11 runtime image works.
ARG CUDA_IMAGE=nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04

# --- build: compile src/ to dist/ with the dev dependencies ---------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# No install scripts: tsc needs the packages' types, not tfjs-node's native download.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- runtime dependencies of the CPU image: production deps + tfjs-node + onnxruntime-node ----
# Versions come from package-lock.json; of the optional backends only the image's own is kept,
# and the build fails when it does not load (npm skips failed optional packages silently).
FROM ${NODE_IMAGE} AS deps-cpu
# tfjs-node builds a small native binding against libtensorflow (node-gyp).
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# npm install's postinstall applies them (patch-package): the runtime needs kafkajs patched.
COPY patches ./patches
RUN npm pkg delete "optionalDependencies.@tensorflow/tfjs-node-gpu" \
  && npm install --omit=dev \
  && node -e "require('@tensorflow/tfjs-node'); require('onnxruntime-node')"

# --- GPU image: built on the CUDA image itself, so the native bindings match its libc ---------
FROM ${NODE_IMAGE} AS node
FROM ${CUDA_IMAGE} AS deps-gpu
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY patches ./patches
# libtensorflow's GPU build loads libcuda from the driver, which only a GPU host mounts:
# check that the package is there, not that it loads.
RUN npm pkg delete "optionalDependencies.@tensorflow/tfjs-node" \
  && npm install --omit=dev \
  && node -e "require.resolve('@tensorflow/tfjs-node-gpu'); require('onnxruntime-node')"

FROM ${CUDA_IMAGE} AS gpu
ENV NODE_ENV=production
COPY --from=node /usr/local/bin/node /usr/local/bin/node
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --create-home node
WORKDIR /app
COPY --from=deps-gpu /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY schemas ./schemas
COPY pipelines ./pipelines
RUN mkdir -p /app/models && chown node:node /app/models
VOLUME ["/app/models"]
USER node
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The node flags of bin/aestream.js's first line (test/unit/deploy.test.ts keeps them equal).
ENTRYPOINT ["node", "--max-semi-space-size=64", "--single-threaded-gc", "bin/aestream.js"]
CMD ["detect", "-p", "pipelines/sensors.yaml"]

# --- CPU image (the default target: last in the file) ------------------------------------------
FROM ${NODE_IMAGE} AS cpu
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps-cpu /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY schemas ./schemas
COPY pipelines ./pipelines
RUN mkdir -p /app/models && chown node:node /app/models
VOLUME ["/app/models"]
USER node
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The node flags of bin/aestream.js's first line (test/unit/deploy.test.ts keeps them equal).
ENTRYPOINT ["node", "--max-semi-space-size=64", "--single-threaded-gc", "bin/aestream.js"]
CMD ["detect", "-p", "pipelines/sensors.yaml"]
