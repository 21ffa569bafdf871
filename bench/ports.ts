/** Free loopback ports for servers that cannot listen on port 0 and say where (backend replicas, nginx). */
import { once } from 'node:events'
import { createServer, type AddressInfo } from 'node:net'

/** Ports that were free a moment ago: whoever gets them must listen on them right away. */
export async function sparePorts (count: number): Promise<number[]> {
  const ports: number[] = []
  for (let index = 0; index < count; index++) {
    const server = createServer().listen(0, '127.0.0.1')
    await once(server, 'listening')
    ports.push((server.address() as AddressInfo).port)
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return ports
}
