export * from './copies';
export * from './history';
export * from './ledger';
export * from './model';
export * from './options';
export * from './plan';
