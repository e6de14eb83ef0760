# One raftkv member. docker-compose.yml runs three of these as a cluster.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY proto ./proto
COPY src ./src
COPY test ./test
COPY bench ./bench
COPY bin ./bin
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./package.json
COPY proto ./proto
COPY bin ./bin
# Client and peer ports, as etcd's.
EXPOSE 2379 2380
VOLUME ["/var/lib/raftkv"]
# The member's own verdict, as etcd's: /health on the client port is 200 only with a leader, no
# alarm and a read that goes through. The slim image has no curl; Node's fetch does the probe.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s CMD ["node", "-e", "fetch('http://127.0.0.1:2379/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/app/bin/raftkv"]
