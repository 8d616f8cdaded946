export * from './catalog.ts';
export * from './categories.ts';
export * from './orders.ts';
export * from './ops.ts';
export * from './api-keys.ts';
export * from './webhooks.ts';
export * from './locations.ts';
export * from './fulfilments.ts';
