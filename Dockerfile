# Gatehouse gateway image; the demo services (dist/examples/services) run from the same image under compose.

# --- build: install everything, compile TypeScript to dist/, then drop dev dependencies ---
FROM node:20-bookworm-slim AS build
WORKDIR /app
# Dependencies first, in their own layer: it is rebuilt only when the lock file changes.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
# One COPY per directory: `COPY a b ./` would merge the directories' contents into /app.
COPY src ./src
COPY plugins ./plugins
COPY examples ./examples
COPY bench ./bench
COPY scripts ./scripts
COPY bin ./bin
COPY services.json services.schema.json ./
# The same build the `prepare` script runs on `npm install`, then drop dev dependencies.
RUN npm run build && npm prune --omit=dev

# --- runtime: production dependencies and compiled code only, owned by root, run as `node` ---
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/package.json /app/services.json /app/services.schema.json ./
# Plugins named in services.json are loaded from source, relative to services.json.
COPY --from=build /app/examples/policies ./examples/policies
USER node
# The production Node options (src/node-options.ts says why; a test checks they match): as NODE_OPTIONS they
# also reach the `--workers` children and anything compose or Kubernetes runs from this image.
ENV NODE_OPTIONS=--max-semi-space-size=4
# Inside a container the gateway must listen on every interface to be reachable through a published port.
ENV GATEHOUSE_HOST=0.0.0.0
EXPOSE 8080
# The slim image has no curl; Node 20 has fetch.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "bin/healthcheck.js"]
CMD ["node", "bin/gatehouse.js", "start", "--config", "/app/services.json"]
