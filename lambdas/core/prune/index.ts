export * from './types';
export { capKey, lineOf, planPrune, prunePolicy, retiredLines } from './plan';
export * from './report';
export * from './adopt';
