import { register } from 'node:module';

// Loaded with --import after tsx's loader: these hooks run before tsx's (see resolve-hooks.ts).
register('./resolve-hooks.ts', import.meta.url);
