/**
 * nginx as the reference proxy: one process (master_process off, so the process the runner spawned is the
 * one that serves and its /proc CPU and RSS are nginx's whole cost) with its prefix, config, pid file, logs,
 * temp paths and cache in a temporary directory removed when the run ends. One server, two locations:
 * `/api/` proxies to the backend (the `nginx` target), `/api/cached/` does the same through proxy_cache
 * (the `nginx-cache` target).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startChild, type BenchChild } from './children.js'
import type { CpuSet } from './cpu-affinity.js'
import type { BenchLifecycle } from './lifecycle.js'
import { findOnPath } from './load-generator.js'
import { sparePorts } from './ports.js'

export const NGINX_MISSING = 'nginx not installed: apt-get install nginx (the nginx and nginx-cache targets were skipped)'

/** Starts nginx in front of `backendUrl`; undefined when nginx is not on PATH (the run goes on without it). */
export async function startNginx (backendUrl: string, lifecycle: BenchLifecycle, cpus?: CpuSet): Promise<BenchChild | undefined> {
  const command = findOnPath('nginx')
  if (command === undefined) return undefined
  const prefix = await mkdtemp(join(tmpdir(), 'gatehouse-bench-nginx-'))
  lifecycle.removeOnRelease(() => rm(prefix, { recursive: true, force: true }))
  const [port] = await sparePorts(1)
  const url = `http://127.0.0.1:${port}`
  const config = join(prefix, 'nginx.conf')
  await writeFile(config, nginxConfig(prefix, url, new URL(backendUrl).host))
  // -e: the error log before the config is read (the default, /var/log/nginx/error.log, may not be writable).
  return startChild({ name: 'nginx', command, args: ['-p', prefix, '-c', config, '-e', join(prefix, 'error.log')], url, ...(cpus === undefined ? {} : { cpus }) }, lifecycle.track)
}

/** The whole config: everything nginx writes goes under `prefix`. */
export function nginxConfig (prefix: string, url: string, backendHost: string): string {
  const path = (name: string): string => join(prefix, name)
  return `# Written by bench/nginx.ts for one bench run.
daemon off;
master_process off;
# One serving process on at most one core, as each Node target has one event loop.
worker_processes 1;
pid ${path('nginx.pid')};
error_log ${path('error.log')} warn;

events {
  worker_connections 1024;
}

http {
  access_log off;
  # As Debian's stock nginx.conf: cache hits go from the cache file to the socket without a copy.
  sendfile on;
  # Node's servers and undici's pools never retire a keep-alive connection after N requests; nginx's
  # default of 1000 would add reconnections that only nginx pays for.
  keepalive_requests 1000000;
  client_body_temp_path ${path('client_body')};
  proxy_temp_path ${path('proxy')};
  fastcgi_temp_path ${path('fastcgi')};
  uwsgi_temp_path ${path('uwsgi')};
  scgi_temp_path ${path('scgi')};
  # No proxy_cache_valid: the backend's /cached/* say Cache-Control: public, max-age=3600.
  proxy_cache_path ${path('cache')} levels=1:2 keys_zone=bench:1m inactive=1h use_temp_path=off;

  upstream backend {
    server ${backendHost};
    keepalive 64;
    keepalive_requests 1000000;
  }

  # RFC 9211, like Gatehouse's: the preflight reads it to check the cache target's requests are hits.
  map $upstream_cache_status $cache_status {
    HIT "nginx; hit";
    default "nginx; fwd=miss";
  }

  server {
    listen ${new URL(url).host};
    # Upstream keep-alive needs HTTP/1.1 and no "Connection: close" passed on.
    proxy_http_version 1.1;
    proxy_set_header Connection "";

    location /api/ {
      proxy_pass http://backend/;
    }

    location /api/cached/ {
      proxy_pass http://backend/cached/;
      proxy_cache bench;
      add_header Cache-Status $cache_status;
    }
  }
}
`
}
