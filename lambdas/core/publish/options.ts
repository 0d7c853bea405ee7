import type { PipelineConfig } from '../config';
import type { PublishOptions } from './model';

/** The publish planner's options, read from the configuration (the audit plans with the same ones). */
export function publishOptions(config: PipelineConfig): PublishOptions {
  return {
    buildRegion: config.buildRegion,
    makeAmiPublic: config.publish.makeAmiPublic,
    makeSnapshotPublic: config.publish.makeSnapshotPublic,
    deprecateAfterDays: config.publish.deprecateAfterDays,
    ssmPrefix: config.publish.ssmPrefix,
    managedTag: config.managedTag,
  };
}
