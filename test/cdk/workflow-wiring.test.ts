import { Match } from 'aws-cdk-lib/assertions';
import { synthesizePipeline } from '../support/cdk';

/** The state machine definition of the publish workflow, with intrinsic functions flattened to text. */
function publishDefinition(template: ReturnType<typeof synthesizePipeline>['template']): string {
  const machines = template.findResources('AWS::StepFunctions::StateMachine');
  const publish = Object.entries(machines).find(([id]) => id.startsWith('Publish'));
  return JSON.stringify(publish![1].Properties.DefinitionString).replaceAll('\\', '');
}

describe('wiring between the workflows', () => {
  test('publishing hands its new builds to the boot-test workflow without waiting for it', () => {
    const { template } = synthesizePipeline();
    const definition = publishDefinition(template);

    expect(definition).toContain('"NewBuilds":{"Type":"Choice","Choices":[{"Variable":"$.fresh[0]","IsPresent":true');
    expect(definition).toContain('"StartBootTest":{"Next":"AllPublished"');
    expect(definition).toContain(':states:::states:startExecution"');
    expect(definition).toContain('"Input":{"imageIds.$":"$.fresh"}');
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'states:StartExecution',
            Resource: { Ref: Match.stringLikeRegexp('^BootTestStateMachine') },
          }),
        ]),
      },
    });
  });

  test('with boot tests turned off, publishing starts nothing else', () => {
    const { template } = synthesizePipeline({ bootTest: { enabled: false } });

    expect(publishDefinition(template)).not.toContain('StartBootTest');
  });
});
