/**
 * The Node.js options a production gateway runs with: the Dockerfile sets them as NODE_OPTIONS (so
 * compose, Kubernetes and `--workers` children get them too), `npm start` passes them, and the benchmark
 * runs its Gatehouse targets with them. Tests check the three agree.
 *
 * `--max-semi-space-size=4` caps V8's young generation at 4 MB per semi-space (Node 20's default grows to
 * 16 MB): under 50 connections of small requests peak RSS dropped from 124–134 MB to 104–110 MB in an
 * interleaved bench run, with the same CPU per request (84–102 µs against 86–107). A request's garbage
 * is short-lived, so smaller, more frequent scavenges cost nothing measurable; nothing caps the old
 * generation, where the memory stores live.
 */
export const GATEWAY_NODE_OPTIONS: readonly string[] = Object.freeze(['--max-semi-space-size=4'])
