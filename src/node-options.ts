/**
 * The Node.js options a production gateway runs with: the Dockerfile sets them as NODE_OPTIONS (so
 * compose, Kubernetes and `--workers` children get them too), `npm start` passes them, and the benchmark
 * runs its Gatehouse targets with them. Tests check the three agree.
 *
 * `--max-semi-space-size=4` caps V8's young generation at 4 MiB per semi-space. V8 derives its default
 * from the memory limit: 16 MiB from 2 GiB up (the bench machine, a host or a container without a limit),
 * less below (1 MiB at 512 MiB), so under a tight limit this raises the cap a little instead; the young
 * generation stays small either way (three semi-spaces, 12 MiB). Under 50 connections of small requests
 * peak RSS dropped from 124–134 MB to 104–110 MB in an interleaved bench run, with the same CPU per
 * request (84–102 µs against 86–107): a request's garbage is short-lived, so smaller, more frequent
 * scavenges cost nothing measurable. Nothing caps the old generation, where the memory stores live.
 */
export const GATEWAY_NODE_OPTIONS: readonly string[] = Object.freeze(['--max-semi-space-size=4'])
