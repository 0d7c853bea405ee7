import { DIGEST_ENV } from '../../lambdas/aws/digest/env';
import type { PolicySource } from './evaluate';
import { type AuthorizationRequest, requestFor, UnmappedCallError } from './requests';
import { ACCOUNT, type ProvenStack, REGION } from './stack';
import { rolePolicies, roleLogicalIdOf } from './template';

/** A request a service makes on the stack's behalf, with the policies AWS evaluates it under. */
export interface EdgeRequest {
  /** The kind of edge: `logs`, `vpc`, `alarm`, `schedule`, `state machine`, `digest`, `tracing`. */
  readonly edge: string;
  readonly request: AuthorizationRequest;
  readonly policies: PolicySource;
}

interface Task {
  readonly Type: string;
  readonly Resource?: string;
  readonly Parameters?: Record<string, unknown>;
  readonly ItemProcessor?: { readonly States: Record<string, Task> };
  readonly Iterator?: { readonly States: Record<string, Task> };
  readonly Branches?: readonly { readonly States: Record<string, Task> }[];
}

function tasksOf(states: Record<string, Task>): Task[] {
  return Object.values(states).flatMap((state) => [
    ...(state.Type === 'Task' ? [state] : []),
    ...tasksOf(state.ItemProcessor?.States ?? state.Iterator?.States ?? {}),
    ...(state.Branches ?? []).flatMap((branch) => tasksOf(branch.States)),
  ]);
}

const SERVICE_PRINCIPAL_POLICIES: PolicySource['identityPolicies'] = [];

/**
 * The requests AWS services make for the stack, each proven like a recorded call: every function writing its log
 * streams and traces; Lambda managing the VPC function's network interfaces; CloudWatch alarms publishing to their
 * topics (topic policy and key policy, with the alarm as source); EventBridge rules starting the state machines and
 * invoking functions; state machines invoking their functions and the child state machine, delivering their logs
 * and traces; the digest reading what it reports.
 */
export async function edgeRequests(stack: ProvenStack): Promise<EdgeRequest[]> {
  const { deployed, facts } = stack;
  const edges: EdgeRequest[] = [];
  const asRole = (roleLogicalId: string): PolicySource => ({
    identityPolicies: rolePolicies(deployed, roleLogicalId),
    resourcePolicy: (kind, arn) => stack.resourcePolicy(kind, arn),
  });
  const asService: PolicySource = {
    identityPolicies: SERVICE_PRINCIPAL_POLICIES,
    resourcePolicy: (kind, arn) => stack.resourcePolicy(kind, arn),
  };
  const add = async (edge: string, policies: PolicySource, spec: Parameters<typeof requestFor>[0]) =>
    edges.push({ edge, policies, request: await requestFor(spec, facts) });

  for (const fn of stack.functions.values()) {
    const policies = asRole(fn.roleLogicalId);
    if (!fn.logGroupArn) throw new UnmappedCallError(`${fn.logicalId} has no log group of its own`);
    const logGroup = fn.logGroupArn.replace(/:\*$/, '');
    const stream = `${logGroup}:log-stream:2026/11/28/[$LATEST]0123456789abcdef`;
    for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents'])
      await add('logs', policies, {
        principal: fn.roleArn,
        subject: fn.logicalId,
        action,
        type: 'log-stream',
        arn: stream,
        region: REGION,
        origin: `${fn.entry} writes its logs`,
      });
    for (const action of ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'])
      await add('tracing', policies, {
        principal: fn.roleArn,
        subject: fn.logicalId,
        action,
        type: '*',
        region: REGION,
        origin: `${fn.entry} sends traces`,
      });
    if (fn.vpc) await addVpcEdges(stack, fn.logicalId, policies, add);
  }

  for (const alarmId of deployed.idsOf('AWS::CloudWatch::Alarm')) {
    const alarmArn = deployed.getAtt(alarmId, 'Arn');
    const actions = (deployed.resolve(deployed.resource(alarmId).Properties?.AlarmActions ?? []) as string[]) ?? [];
    if (actions.length === 0) throw new UnmappedCallError(`alarm ${alarmId} notifies nobody`);
    const source = { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': alarmArn };
    for (const topicArn of actions) {
      const spec = { principal: 'cloudwatch.amazonaws.com', subject: alarmId, region: REGION, context: source };
      await add('alarm', asService, {
        ...spec,
        action: 'sns:Publish',
        type: 'topic',
        arn: topicArn,
        resourcePolicy: { kind: 'topic', arn: topicArn },
        origin: `alarm ${alarmId} notifies its topic`,
      });
      const key = facts.topicKey(topicArn);
      if (key)
        for (const action of ['kms:GenerateDataKey', 'kms:Decrypt'])
          await add('alarm', asService, {
            ...spec,
            action,
            type: 'key',
            arn: key,
            resourcePolicy: { kind: 'key', arn: key },
            origin: `alarm ${alarmId} encrypts for its topic`,
          });
    }
  }

  for (const ruleId of deployed.idsOf('AWS::Events::Rule')) {
    const ruleArn = deployed.getAtt(ruleId, 'Arn');
    const targets = deployed.resolve(deployed.resource(ruleId).Properties?.Targets ?? []) as {
      Arn: string;
      RoleArn?: string;
    }[];
    const rawTargets = deployed.resource(ruleId).Properties?.Targets as { RoleArn?: unknown }[];
    for (const [index, target] of targets.entries()) {
      if (target.Arn.includes(':states:')) {
        const roleId = roleLogicalIdOf(rawTargets[index]!.RoleArn);
        await add('schedule', asRole(roleId), {
          principal: target.RoleArn!,
          subject: ruleId,
          action: 'states:StartExecution',
          type: 'statemachine',
          arn: target.Arn,
          region: REGION,
          origin: `rule ${ruleId} starts its state machine`,
        });
      } else if (target.Arn.includes(':lambda:')) {
        await add('schedule', asService, {
          principal: 'events.amazonaws.com',
          subject: ruleId,
          action: 'lambda:InvokeFunction',
          type: 'function',
          arn: target.Arn,
          region: REGION,
          context: { 'aws:SourceArn': ruleArn, 'aws:SourceAccount': ACCOUNT },
          resourcePolicy: { kind: 'function', arn: target.Arn },
          origin: `rule ${ruleId} invokes its function`,
        });
      } else throw new UnmappedCallError(`rule ${ruleId} targets ${target.Arn}, which the proof does not model`);
    }
  }

  for (const machineId of deployed.idsOf('AWS::StepFunctions::StateMachine'))
    await addStateMachineEdges(stack, machineId, asRole, add);

  await addDigestEdges(stack, asRole, add);
  return edges;
}

type Add = (edge: string, policies: PolicySource, spec: Parameters<typeof requestFor>[0]) => Promise<number>;

/** What Lambda does with the role of a function in a VPC: one network interface per subnet and security group. */
async function addVpcEdges(stack: ProvenStack, functionId: string, policies: PolicySource, add: Add) {
  const fn = stack.functions.get(functionId)!;
  const ec2 = (type: string, id: string) => `arn:aws:ec2:${REGION}:${ACCOUNT}:${type}/${id}`;
  // The VPC of the function's own subnets: the stack has more than one.
  const { deployed } = stack;
  const subnetOf = (subnetId: string) => deployed.idsOf('AWS::EC2::Subnet').find((id) => deployed.ref(id) === subnetId);
  const vpcIds = new Set(
    fn.vpc!.subnetIds.map((subnetId) => {
      const id = subnetOf(subnetId);
      if (!id) throw new UnmappedCallError(`${functionId}: subnet ${subnetId} is no subnet of the stack`);
      return String(deployed.resolve(deployed.resource(id).Properties?.VpcId));
    }),
  );
  if (vpcIds.size !== 1) throw new UnmappedCallError(`${functionId} has subnets in ${vpcIds.size} VPCs`);
  const vpcId = [...vpcIds][0]!;
  const base = { principal: fn.roleArn, subject: functionId, region: REGION };
  const eni = 'eni-0123456789abcdef0';
  for (const [index, subnetId] of fn.vpc!.subnetIds.entries()) {
    const zone = `${REGION}${'abc'[index % 3]}`;
    const origin = `Lambda attaches ${fn.entry} to ${subnetId}`;
    await add('vpc', policies, {
      ...base,
      action: 'ec2:CreateNetworkInterface',
      type: 'network-interface',
      id: eni,
      origin,
    });
    await add('vpc', policies, {
      ...base,
      action: 'ec2:CreateNetworkInterface',
      type: 'subnet',
      id: subnetId,
      context: { 'ec2:SubnetID': subnetId, 'ec2:Vpc': ec2('vpc', vpcId), 'ec2:AvailabilityZone': zone },
      origin,
    });
    for (const group of fn.vpc!.securityGroupIds)
      await add('vpc', policies, {
        ...base,
        action: 'ec2:CreateNetworkInterface',
        type: 'security-group',
        id: group,
        context: { 'ec2:SecurityGroupID': group, 'ec2:Vpc': ec2('vpc', vpcId) },
        origin,
      });
    for (const action of [
      'ec2:DeleteNetworkInterface',
      'ec2:AssignPrivateIpAddresses',
      'ec2:UnassignPrivateIpAddresses',
    ])
      await add('vpc', policies, {
        ...base,
        action,
        type: 'network-interface',
        id: eni,
        context: {
          'ec2:NetworkInterfaceID': eni,
          'ec2:Vpc': ec2('vpc', vpcId),
          'ec2:Subnet': ec2('subnet', subnetId),
          'ec2:AvailabilityZone': zone,
        },
        origin: `Lambda manages the interfaces of ${fn.entry}`,
      });
  }
  for (const action of ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'])
    await add('vpc', policies, { ...base, action, type: '*', origin: `Lambda reads the network of ${fn.entry}` });
}

/** A state machine's role: its Lambda tasks, the child state machine it starts, its log delivery and traces. */
async function addStateMachineEdges(
  stack: ProvenStack,
  machineId: string,
  asRole: (roleLogicalId: string) => PolicySource,
  add: Add,
) {
  const { deployed } = stack;
  const properties = deployed.resource(machineId).Properties ?? {};
  const roleId = roleLogicalIdOf(properties.RoleArn);
  const policies = asRole(roleId);
  const base = { principal: deployed.getAtt(roleId, 'Arn'), subject: machineId, region: REGION };
  const definition = JSON.parse(deployed.resolve(properties.DefinitionString) as string) as {
    States: Record<string, Task>;
  };
  for (const task of tasksOf(definition.States)) {
    if (task.Resource === `arn:aws:states:::lambda:invoke`) {
      const functionArn = String(task.Parameters?.FunctionName);
      await add('state machine', policies, {
        ...base,
        action: 'lambda:InvokeFunction',
        type: 'function',
        arn: functionArn,
        origin: `${machineId} invokes ${functionArn.split(':').pop()}`,
      });
    } else if (task.Resource === `arn:aws:states:::states:startExecution`) {
      const child = String(task.Parameters?.StateMachineArn);
      await add('state machine', policies, {
        ...base,
        action: 'states:StartExecution',
        type: 'statemachine',
        arn: child,
        origin: `${machineId} starts ${child.split(':').pop()}`,
      });
    } else throw new UnmappedCallError(`${machineId}: task resource ${task.Resource} is not modelled`);
  }
  const logging = properties.LoggingConfiguration as { Destinations?: unknown[] } | undefined;
  if (logging?.Destinations?.length) {
    for (const action of [
      'logs:CreateLogDelivery',
      'logs:GetLogDelivery',
      'logs:UpdateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:DescribeResourcePolicies',
      'logs:DescribeLogGroups',
    ])
      await add('state machine', policies, { ...base, action, type: '*', origin: `${machineId} delivers its logs` });
  }
  if ((properties.TracingConfiguration as { Enabled?: boolean } | undefined)?.Enabled)
    for (const action of [
      'xray:PutTraceSegments',
      'xray:PutTelemetryRecords',
      'xray:GetSamplingRules',
      'xray:GetSamplingTargets',
    ])
      await add('state machine', policies, { ...base, action, type: '*', origin: `${machineId} sends traces` });
}

/** What the digest reads and where it mails, named by its environment. */
async function addDigestEdges(stack: ProvenStack, asRole: (roleLogicalId: string) => PolicySource, add: Add) {
  const digest = stack.functionOf('digest/handler.ts');
  const policies = asRole(digest.roleLogicalId);
  const base = { principal: digest.roleArn, subject: digest.logicalId, region: REGION };
  const env = digest.environment;
  const named = (key: string) => {
    const value = env[key];
    if (!value) throw new UnmappedCallError(`the digest's environment has no ${key}`);
    return value;
  };
  for (const machineArn of [named(DIGEST_ENV.publishStateMachine), named(DIGEST_ENV.pruneStateMachine)]) {
    const name = machineArn.split(':').pop()!;
    const execution = `arn:aws:states:${REGION}:${ACCOUNT}:execution:${name}:weekly-run`;
    await add('digest', policies, {
      ...base,
      action: 'states:ListExecutions',
      type: 'statemachine',
      arn: machineArn,
      origin: `digest lists ${name}`,
    });
    for (const action of ['states:DescribeExecution', 'states:GetExecutionHistory'])
      await add('digest', policies, {
        ...base,
        action,
        type: 'execution',
        arn: execution,
        origin: `digest reads a run of ${name}`,
      });
  }
  const table = named(DIGEST_ENV.historyTable);
  for (const action of ['dynamodb:Query', 'dynamodb:Scan'])
    await add('digest', policies, {
      ...base,
      action,
      type: 'table',
      id: table,
      origin: 'digest reads the boot history',
    });
  const topic = named(DIGEST_ENV.topic);
  await add('digest', policies, {
    ...base,
    action: 'sns:Publish',
    type: 'topic',
    arn: topic,
    resourcePolicy: { kind: 'topic', arn: topic },
    origin: 'digest mails the list',
  });
}
