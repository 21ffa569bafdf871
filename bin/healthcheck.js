#!/usr/bin/env node
// The container's health probe (Dockerfile HEALTHCHECK): GET <admin prefix>/healthz on this gateway.
// GATEHOUSE_HEALTHCHECK_URL overrides the default http://127.0.0.1:$GATEHOUSE_PORT/_gatehouse/healthz; an
// https:// URL is probed without verifying the certificate: the gateway is asking itself, over loopback,
// whether it answers, and its certificate is often issued for a public name (or self-signed in development).
import { get as getHttp } from 'node:http'
import { get as getHttps } from 'node:https'

const url = new URL(process.env.GATEHOUSE_HEALTHCHECK_URL ||
  `http://127.0.0.1:${process.env.GATEHOUSE_PORT || 8080}/_gatehouse/healthz`)
const get = url.protocol === 'https:' ? getHttps : getHttp
const request = get(url, { rejectUnauthorized: false, timeout: 2500 }, (response) => {
  response.resume()
  process.exitCode = response.statusCode === 200 ? 0 : 1
})
request.on('timeout', () => request.destroy(new Error('timed out')))
request.on('error', () => { process.exitCode = 1 })
