// Entry of each policy worker thread. A worker does not inherit the parent's tsx hooks, and on Node 20
// `execArgv: ['--import', 'tsx']` does not register them in the worker either ("Unknown file extension
// .ts"), so the worker registers tsx itself before loading the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
