import type { Command } from 'commander';
import type { CliContext } from '../cli/context';
import { registerAudit } from './audit';
import { registerBootTest } from './boot-test';
import { registerConfig } from './config';
import { registerCycle } from './cycle';
import { registerPrune } from './prune';
import { registerPublish } from './publish';
import { registerRegions } from './regions';
import { registerReport } from './report';
import { registerRepro } from './repro';
import { registerStart } from './start';
import { registerStatus } from './status';

/** Every subcommand; each registers itself on the program and builds its context lazily. */
export const COMMANDS: readonly ((program: Command, context: () => CliContext) => void)[] = [
  registerConfig,
  registerRegions,
  registerPublish,
  registerBootTest,
  registerAudit,
  registerPrune,
  registerReport,
  registerRepro,
  registerCycle,
  registerStatus,
  registerStart,
];
