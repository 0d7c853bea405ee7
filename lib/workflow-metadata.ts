import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/** Template metadata key on each state machine naming its workflow (`publish`, `boot-test`, `prune`). */
export const WORKFLOW_METADATA = 'ami-pipeline:workflow';

/** Names `stateMachine`'s workflow in the template, where the local engine and the CLI look it up. */
export function nameWorkflow(stateMachine: sfn.StateMachine, name: string): void {
  (stateMachine.node.defaultChild as sfn.CfnStateMachine).addMetadata(WORKFLOW_METADATA, name);
}
