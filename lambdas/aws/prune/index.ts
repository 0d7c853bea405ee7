export { executeRegionPlan, type ExecuteOptions } from './execute';
export { callerAccount, InventoryError, readPruneInventory, type InventoryOptions } from './inventory';
export {
  runAdopt,
  runPrune,
  type AdoptRunOptions,
  type AdoptRunResult,
  type PruneRunOptions,
  type PruneRunResult,
} from './run';
