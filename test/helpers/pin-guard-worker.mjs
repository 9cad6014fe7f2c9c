// A worker that logs in through the built PinGuard with a PIN that the "token" refuses, counting presentations.
import { workerData } from 'node:worker_threads';
import { PinGuard } from '../../dist/src/pkcs11/pin-guard.js';

const presented = new Int32Array(workerData.presented);
new PinGuard(workerData.guard).present(0, () => {
  Atomics.add(presented, 0, 1);
  // A card takes a while to answer: the other workers are waiting on the lock meanwhile.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  return 'refused';
});
