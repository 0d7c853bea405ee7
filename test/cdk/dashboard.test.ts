import { bootSearch } from '../../lib/dashboard';
import { synthesizePipeline } from '../support/cdk';

describe('dashboard', () => {
  const { template } = synthesizePipeline({ series: { arches: ['arm64'] } });
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  // The body is a Fn::Join of JSON text around tokens; joined with the tokens' logical ids it reads as JSON.
  const parts = (dashboards[0]!.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
  const body = JSON.parse(
    parts
      .map((p) => (typeof p === 'string' ? p : ((p as { Ref?: string }).Ref ?? JSON.stringify(p).replace(/"/g, ''))))
      .join(''),
  ) as { widgets: { type: string; properties: { title?: string; metrics?: unknown[][] } }[] };
  const graph = (title: string) => body.widgets.find((w) => w.properties.title === title);

  test('there is one dashboard', () => {
    expect(dashboards).toHaveLength(1);
  });

  test('boot times are a SEARCH over the boot metrics, one graph per configured architecture', () => {
    expect(graph('Boot time, arm64 (s)')?.properties.metrics).toEqual([
      [
        {
          expression: `SEARCH('{AmiPipeline/BootTest,InstanceType,Series} MetricName="BootSeconds" arm64', 'Average', 86400)`,
          period: 86400,
        },
      ],
    ]);
    expect(graph('Boot time, amd64 (s)')).toBeUndefined();
    expect(bootSearch('BootFailed', 'Sum')).toBe(
      `SEARCH('{AmiPipeline/BootTest,InstanceType,Series} MetricName="BootFailed"', 'Sum', 86400)`,
    );
    expect(graph('Failed boots (count per series and instance type)')?.properties.metrics).toEqual([
      [{ expression: bootSearch('BootFailed', 'Sum'), period: 86400 }],
    ]);
  });

  test('the phases of a boot come from the dimensionless boot metrics', () => {
    const metrics = graph('Phases of a boot, all series (s)')!.properties.metrics!;
    expect(metrics.map((m) => m.slice(0, 2))).toEqual([
      ['AmiPipeline/BootTest', 'RunInstancesSeconds'],
      ['AmiPipeline/BootTest', 'PendingToRunningSeconds'],
      ['AmiPipeline/BootTest', 'RunningToPortClosedSeconds'],
      ['AmiPipeline/BootTest', 'PortClosedToOpenSeconds'],
    ]);
  });

  test.each([
    ['Publish', 'PublishStateMachine'],
    ['Boot test', 'BootTestStateMachine'],
    ['Prune', 'PruneStateMachine'],
  ])('%s executions: succeeded, failed, timed out and aborted of its state machine', (name, prefix) => {
    const metrics = graph(`${name} executions`)!.properties.metrics!;
    expect(metrics.map((m) => m[1])).toEqual([
      'ExecutionsSucceeded',
      'ExecutionsFailed',
      'ExecutionsTimedOut',
      'ExecutionsAborted',
    ]);
    for (const metric of metrics) {
      expect(metric[0]).toBe('AWS/States');
      expect(metric[2]).toBe('StateMachineArn');
      expect(String(metric[3])).toMatch(new RegExp(`^${prefix}[0-9A-F]{8}$`));
    }
  });
});
