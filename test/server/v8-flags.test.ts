import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, it, expect } from 'vitest'
import { GATEWAY_V8_FLAGS } from '../../src/node-options.js'

const NODE_OPTIONS_MODULE = fileURLToPath(new URL('../../dist/src/node-options.js', import.meta.url))

describe('the V8 flags a serving gateway sets itself', () => {
  it('are all known to this V8: an unknown one only prints "unrecognized flag" and changes nothing', () => {
    const script = `import { applyGatewayV8Flags } from ${JSON.stringify(NODE_OPTIONS_MODULE)}; applyGatewayV8Flags()`
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
    expect(result.status).toBe(0)
    expect(result.stderr).toBe('')
  })

  it('are refused in NODE_OPTIONS, which is why the process sets them instead of the Dockerfile', () => {
    for (const flag of GATEWAY_V8_FLAGS) {
      const result = spawnSync(process.execPath, ['-e', '0'], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: flag } })
      expect([flag, result.status, result.stderr]).toEqual([flag, 9, expect.stringContaining('is not allowed in NODE_OPTIONS')])
    }
  })
})
