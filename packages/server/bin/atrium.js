#!/usr/bin/env node
import('../dist/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/main.js')) {
    console.error('atrium: the server is not built yet; run `npm install` (or `npm run build`) in the repository root');
    process.exit(1);
  }
  throw err;
});
