export * from './types';
export { capKey, planPrune, prunePolicy } from './plan';
export * from './report';
export * from './adopt';
