/** Client IP allow/deny lists (CIDR, IPv4 and IPv6, IPv4-mapped IPv6 included) compiled once, by proxy-addr. */
import proxyAddr from 'proxy-addr'
import type { IpAccessSettings } from '../config/types.js'

export type IpCheck = (ip: string) => boolean

/** Deny wins; with an allow list, only listed clients pass. */
export function compileIpAccess ({ allow, deny }: IpAccessSettings): IpCheck {
  const denied = deny.length > 0 ? proxyAddr.compile([...deny]) : null
  const allowed = allow.length > 0 ? proxyAddr.compile([...allow]) : null
  return (ip) => !(denied !== null && denied(ip, 0)) && (allowed === null || allowed(ip, 0))
}
