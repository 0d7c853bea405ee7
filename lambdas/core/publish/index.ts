export * from './copies';
export * from './history';
export * from './model';
export * from './plan';
