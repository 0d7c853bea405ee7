import { FUNCTION_ENTRY_METADATA } from '../../lib/pipeline-function';
import { WORKFLOW_METADATA } from '../../lib/workflow-metadata';

/** One resource of a synthesized CloudFormation template, as far as the local engine reads it. */
export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

/** A synthesized stack template. */
export interface StackTemplate {
  readonly Resources: Readonly<Record<string, TemplateResource>>;
}

/** A Lambda function of the stack, with what the local engine needs to run its handler in-process. */
export interface StackFunction {
  readonly logicalId: string;
  /** Handler file under `lambdas/`, from the function's template metadata. */
  readonly entry: string;
  /** Environment variables as synthesized: strings or CloudFormation intrinsics. */
  readonly environment: Readonly<Record<string, unknown>>;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
}

/** A state machine of the stack: its workflow name and its definition as synthesized. */
export interface StackWorkflow {
  readonly name: string;
  readonly logicalId: string;
  /** The `DefinitionString` property: a string or an `Fn::Join` of strings and intrinsics. */
  readonly definition: unknown;
}

/** Lambda's defaults for a function whose template leaves them out. */
const LAMBDA_DEFAULT_TIMEOUT_SECONDS = 3;
const LAMBDA_DEFAULT_MEMORY_MB = 128;

/** The functions and workflows of a synthesized stack. */
export function readStack(template: StackTemplate): {
  readonly functions: ReadonlyMap<string, StackFunction>;
  readonly workflows: ReadonlyMap<string, StackWorkflow>;
} {
  const functions = new Map<string, StackFunction>();
  const workflows = new Map<string, StackWorkflow>();
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const properties = resource.Properties ?? {};
    if (resource.Type === 'AWS::Lambda::Function') {
      const entry = resource.Metadata?.[FUNCTION_ENTRY_METADATA];
      if (typeof entry !== 'string') continue;
      const environment = (properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables;
      functions.set(logicalId, {
        logicalId,
        entry,
        environment: environment ?? {},
        timeoutSeconds: Number(properties.Timeout ?? LAMBDA_DEFAULT_TIMEOUT_SECONDS),
        memoryMb: Number(properties.MemorySize ?? LAMBDA_DEFAULT_MEMORY_MB),
      });
    } else if (resource.Type === 'AWS::StepFunctions::StateMachine') {
      const name = resource.Metadata?.[WORKFLOW_METADATA];
      if (typeof name !== 'string') continue;
      workflows.set(name, { name, logicalId, definition: properties.DefinitionString });
    }
  }
  return { functions, workflows };
}
