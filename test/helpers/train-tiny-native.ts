/**
 * Trains tinySpec on the native backend in a process of its own and prints
 * the result as JSON: the tests run it with other OpenMP thread counts than
 * this machine's (OMP_NUM_THREADS is read when the native modules load).
 */
import { useBackend } from '../../lib/backend/index.ts';
import { trainTiny } from './tiny-spec.ts';

const backend = await useBackend('native', { quiet: true });
if (backend.name !== 'native') throw new Error(`native backend unavailable: ${backend.reason}`);
console.log(JSON.stringify(trainTiny(3, { donate: true })));
