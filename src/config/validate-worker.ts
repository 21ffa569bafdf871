/** Worker thread entry: validates the services.json value it is given and posts the result back. */
import { parentPort, workerData } from 'node:worker_threads'
import { validateServicesFile } from './validate.js'

parentPort?.postMessage(validateServicesFile(workerData))
