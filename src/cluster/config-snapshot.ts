/**
 * The services.json the primary validated, as the value workers are started with. Workers never read the
 * file themselves: a replacement forked after a crash runs the same configuration as its siblings, even
 * when the file was edited since (only SIGHUP, after checking the new file, moves the workers to it).
 * Files the configuration names (certificates, keys, plugins) are still read by each worker, so a
 * replacement gets the certificate on disk, not the one of the primary's last check.
 */
import { dirname } from 'node:path'
import { parseConfig, readServicesFile } from '../config/load.js'
import type { GatewayConfig } from '../config/types.js'

export interface ConfigSnapshot {
  /** Absolute path of services.json (relative paths in it are resolved against its directory). */
  readonly source: string
  /** Its parsed JSON, before ${VAR} substitution: each worker substitutes from the environment it inherited. */
  readonly raw: unknown
}

export interface CheckedConfig {
  readonly snapshot: ConfigSnapshot
  readonly config: GatewayConfig
}

/** Reads and validates services.json; throws ConfigInvalidError listing every problem, as loadConfig does. */
export async function checkConfigFile (path: string): Promise<CheckedConfig> {
  const snapshot = await readServicesFile(path)
  return { snapshot, config: await configOf(snapshot) }
}

export function configOf (snapshot: ConfigSnapshot): Promise<GatewayConfig> {
  return parseConfig(snapshot.raw, { baseDir: dirname(snapshot.source), source: snapshot.source })
}
