#!/usr/bin/env node
// Arbiter runs its TypeScript sources through tsx's loader: no build step, so what runs is what is reviewed.
import { register } from 'tsx/esm/api';

register();
await import('../server/cli/main.ts');
