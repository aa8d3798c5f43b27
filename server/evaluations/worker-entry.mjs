// Entry of an evaluation thread. A worker does not inherit the parent's tsx hooks (see
// policies/engine/worker-entry.mjs), so it registers tsx itself before loading the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./evaluation-worker.ts');
