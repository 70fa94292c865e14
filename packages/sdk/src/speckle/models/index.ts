export type * from './account.js';
export type * from './server.js';
export type * from './user.js';
