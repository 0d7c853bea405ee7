import type { Command } from 'commander';
import type { CliContext } from '../cli/context';
import { registerConfig } from './config';
import { registerRegions } from './regions';

/** Every subcommand; each registers itself on the program and builds its context lazily. */
export const COMMANDS: readonly ((program: Command, context: () => CliContext) => void)[] = [
  registerConfig,
  registerRegions,
];
